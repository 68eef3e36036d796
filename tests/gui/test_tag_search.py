"""The tags panel's "Find photos of…" box: a word finds untagged photos, through a worker."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt


def test_typing_a_word_finds_untagged_photos_and_suggests_tags(qtbot, indexed) -> None:  # noqa: ANN001
    win = indexed
    win.tabs.setCurrentWidget(win.tags)
    tp = win.tags
    box = tp.findChild(type(tp.semantic_edit), "tagSearchBox")
    assert box is tp.semantic_edit and box.isEnabled()
    qtbot.waitUntil(lambda: tp.completer.model().rowCount() > 1000, timeout=20_000)  # vocabulary completion
    qtbot.keyClicks(box, "cat")
    with qtbot.waitSignal(win.tagSearchFinished, timeout=60_000) as blocker:
        qtbot.keyClick(box, Qt.Key.Key_Return)
    assert blocker.args[0].hits, "no results"
    stems = [Path(r["path"]).stem for r in tp.model.rows[:5]]
    assert any("chelsea-cat" in s for s in stems), stems
    assert all(r["badge"][0].isdigit() or r["badge"][0] == "tagged" for r in tp.model.rows)
    # the photos tagged "cat" (automatically, here) come first, and the count line says where they end
    hits = blocker.args[0].hits
    tagged = sum(h.tagged for h in hits)
    assert 0 < tagged < len(hits) and all(h.tagged for h in hits[:tagged])
    assert tp.count.text().startswith(f"{tagged} tagged “cat”, then {len(hits) - tagged} more, nearest first")
    assert "tagged so automatically" in tp.model.rows[0]["tooltip"]
    # choosing a photo shows suggestions, marked as suggestions; double-click accepts one
    cat_row = next(n for n, r in enumerate(tp.model.rows) if "chelsea-cat" in r["path"])
    tp.grid.setCurrentIndex(tp.model.index(cat_row))
    qtbot.waitUntil(lambda: tp.suggestions.count() > 0, timeout=20_000)
    assert all("suggested" in tp.suggestions.item(i).text() for i in range(tp.suggestions.count()))
    with qtbot.waitSignal(win.snapshotLoaded, timeout=10_000):
        tp.suggestions.itemDoubleClicked.emit(tp.suggestions.item(0))
    # an empty search says what to do instead of running anything
    box.clear()
    qtbot.keyClick(box, Qt.Key.Key_Return)
    assert "Type a word" in tp.count.text()


def test_a_word_the_models_cannot_place_says_the_matches_are_weak(qtbot, indexed) -> None:  # noqa: ANN001
    win = indexed
    win.tabs.setCurrentWidget(win.tags)
    tp = win.tags
    box = tp.semantic_edit
    qtbot.keyClicks(box, "zzxq")
    with qtbot.waitSignal(win.tagSearchFinished, timeout=60_000) as blocker:
        qtbot.keyClick(box, Qt.Key.Key_Return)
    assert blocker.args[0].hits and blocker.args[0].weak
    assert tp.model.rowCount() == len(blocker.args[0].hits)  # the nearest photos are still listed
    assert tp.count.text().startswith("Weak matches") and "“zzxq”" in tp.count.text()
    assert "photos of “zzxq”" not in tp.count.text()
    # a real word right after: no weak line
    box.clear()
    qtbot.keyClicks(box, "flower")
    with qtbot.waitSignal(win.tagSearchFinished, timeout=60_000) as blocker:
        qtbot.keyClick(box, Qt.Key.Key_Return)
    assert not blocker.args[0].weak
    assert "Weak" not in tp.count.text() and "photos of “flower”" in tp.count.text()


def test_a_phrase_is_searched_for_its_subject_and_the_panel_says_so(qtbot, indexed) -> None:  # noqa: ANN001
    win = indexed
    win.tabs.setCurrentWidget(win.tags)
    tp = win.tags
    qtbot.keyClicks(tp.semantic_edit, "show me photos of cats")
    with qtbot.waitSignal(win.tagSearchFinished, timeout=60_000) as blocker:
        qtbot.keyClick(tp.semantic_edit, Qt.Key.Key_Return)
    assert blocker.args[0].read == "cat" and not blocker.args[0].weak
    assert "chelsea-cat" in Path(tp.model.rows[0]["path"]).stem
    assert "tagged “cat”" in tp.count.text()
