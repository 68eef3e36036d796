"""The tags panel's controller: tagging and untagging, the grid filtered by a tag (read with the
library's snapshot), search by meaning, suggestions for the current photo, and retraining tag
search from a person's own tags; all of it in workers."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QWidget

from app import jobs
from app.context import AppContext
from app.controllers.base import PhotoController
from app.controllers.library import LibraryController
from app.statusbar import StatusBar
from app.tags_panel import TagsPanel


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
        panel.set_semantic_search(self.find_tag)
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
        """Tag search across modalities (issue 5): runs in a worker, results land in the grid."""
        if not text.strip():
            self.panel.show_note("Type a word to search for, e.g. cat, beach, car")
            return
        self.status.say(f"Searching for “{text.strip()}”…")
        self.start(jobs.tag_search_job, text, on_result=self._tag_search_done)

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

        self.start(jobs.learn_tags_job, on_result=done,
                   on_progress=lambda d, t, text: self.status.say(f"{text} ({d}/{t})"),
                   on_finished=lambda: self.panel.set_learning(False))
