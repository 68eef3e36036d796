"""The tags panel's controller: tagging and untagging, the grid filtered by a tag (read with the
library's snapshot), search by meaning, suggestions for the current photo, and retraining tag
search from a person's own tags; all of it in workers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QWidget

from app import jobs
from app.context import AppContext
from app.controllers.base import PhotoController
from app.controllers.library import LibraryController
from app.statusbar import StatusBar
from app.tags_panel import TagsPanel

LOADING_TEXT = "Loading the tag search models (first search only)…"


@dataclass
class WeighedTagSearch(jobs.TagSearchResult):
    """A tag search's result, whether its matches are weak (Library.tag_query_is_weak), and what
    the search read in the text ("dog" in "photos of dogs"; hashcore/tags/phrase.py)."""

    weak: bool = False
    read: str = ""


def tag_search_job(ctx: Any, text: str) -> WeighedTagSearch:
    """jobs.tag_search_job, then in the same worker the cheap check whether the models could
    place the words at all ("zzxq"): the panel then says the matches are weak."""
    from hashcore.tags.search import read_tags

    result = jobs.tag_search_job(ctx, text)
    with ctx.library() as lib:
        weak = bool(result.hits) and lib.tag_query_is_weak(text.split(","))
    return WeighedTagSearch(result.text, result.hits, result.seconds, weak, ", ".join(read_tags(text.split(","))))


def load_tag_models_job(ctx: Any) -> None:
    """The models a tag search needs (the tag model, then the text model, MiniLM in NumPy without
    torch: about half a second together), loaded once per process; later searches find them in
    memory. Reports before each."""
    from hashcore.models.textenc import shared

    ctx.progress(0, 2, "Loading the tag model")
    with ctx.library() as lib:
        lib.tag_model()
    ctx.progress(1, 2, "Loading the text model")
    shared().encode(["photo"])
    ctx.progress(2, 2, "Tag search models loaded")


class TagsController(PhotoController):
    tagSearchFinished = Signal(object)  # jobs.TagSearchResult

    def __init__(self, ctx: AppContext, status: StatusBar, panel: TagsPanel, library: LibraryController,
                 host: QWidget) -> None:
        super().__init__(ctx, status, panel, host)
        self.panel: TagsPanel = panel
        self.library = library
        library.tag_filter = panel.current_tag
        library.snapshotLoaded.connect(self._snapshot)
        panel.filterChanged.connect(lambda _tag: library.refresh())
        self._models_ready = self._loading = False  # the text and tag models (panel first shown, or a search)
        self._pending: str | None = None  # the search typed while they load
        self._searching = 0  # searches in flight: the busy bar stays while any runs
        panel.set_semantic_search(self.find_tag)
        panel.firstShown.connect(self.load_models)
        panel.semanticSearchRequested.connect(self.find_tag)
        panel.learnRequested.connect(self.learn_tags)
        panel.selectionChangedTo.connect(self.suggest_tags)
        self._load_vocabulary()

    def _load_vocabulary(self) -> None:
        self.start(jobs.tag_vocabulary_job, on_result=self.panel.set_completions, on_error=lambda _m: None)

    def _snapshot(self, snap: jobs.LibrarySnapshot) -> None:
        self.panel.set_tags(snap.tags, len(snap.images))
        if snap.tag_filter == self.panel.current_tag():
            if snap.filtered_ids is None:
                rows = snap.images
            else:
                keep = set(snap.filtered_ids)
                rows = [r for r in snap.images if r["id"] in keep]
            self.panel.set_rows(rows, snap.tag_filter)

    def change_tags(self, action: str, ids: list[int], tags: list[str]) -> None:
        def done(_: Any) -> None:
            self.status.say(f"{'Tagged' if action == 'add' else 'Untagged'} {len(ids)} photo"
                            f"{'s' if len(ids) != 1 else ''}: {', '.join(tags)}")
            self.library.refresh()
        self.start(jobs.tag_job, action, ids, tags, on_result=done)

    def find_tag(self, text: str) -> None:
        """Tag search across modalities (issue 5): runs in a worker, results land in the grid.
        The first search of a session loads the models first, in a worker of its own, behind the
        panel's busy bar; a search typed meanwhile runs once they are in (the latest one)."""
        if not text.strip():
            self.panel.show_note("Type a word to search for, e.g. cat, beach, car")
            return
        if self._models_ready:
            self._search(text)
            return
        self._pending = text
        self.panel.set_busy(LOADING_TEXT)
        self.status.say(f"Searching for “{text.strip()}”…")
        self.load_models()

    def load_models(self) -> None:
        """Load the tag search models in a worker (once); the Tags panel starts it when it first
        comes on screen, so that the first search usually finds them ready."""
        if not (self._models_ready or self._loading):
            self._loading = True
            self.start(load_tag_models_job, on_result=self._models_loaded, on_error=self._models_failed)

    def _models_loaded(self, _: object) -> None:
        self._loading, self._models_ready = False, True
        text, self._pending = self._pending, None
        if text is not None:
            self._search(text)

    def _models_failed(self, message: str) -> None:
        """Said only to a person waiting for a search; a search after a failed early load tries
        again (and says why, if it fails again)."""
        waiting, self._loading, self._pending = self._pending is not None, False, None
        if waiting:
            self.panel.set_busy(None)
            self.status.say("")
            self.failed.emit(message)

    def _search(self, text: str) -> None:
        self._searching += 1
        self.panel.set_busy(f"Searching for “{text.strip()}”…")
        self.status.say(f"Searching for “{text.strip()}”…")
        self.start(tag_search_job, text, on_result=self._tag_search_done, on_finished=self._search_ended)

    def _search_ended(self) -> None:
        self._searching -= 1
        if not self._searching and not self._loading:
            self.panel.set_busy(None)

    def _tag_search_done(self, result: jobs.TagSearchResult) -> None:
        self.status.say("")
        self.panel.show_tag_results(result)
        self.tagSearchFinished.emit(result)

    def suggest_tags(self, row: dict[str, Any] | None) -> None:
        if row is not None:
            self.start(jobs.suggest_tags_job, row["id"], on_result=lambda r: self.panel.set_suggestions(*r),
                       on_error=lambda _m: None)

    def learn_tags(self) -> None:
        self.panel.set_learning(True)

        def done(info: dict[str, Any]) -> None:
            self.status.say(f"Learned {len(info['tags'])} tags from {info['photos']} photos "
                            f"in {info['seconds']:.0f} s")
            self._load_vocabulary()

        self.start_long("Learning tags", jobs.learn_tags_job, unit="steps", retry=self.learn_tags,
                        cancel_tip="Stop learning; tag search stays as it was", on_result=done,
                        on_cancelled=lambda: self.status.say("Learning tags cancelled; tag search is unchanged"),
                        on_finished=lambda: self.panel.set_learning(False))
