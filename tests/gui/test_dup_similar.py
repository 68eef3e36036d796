"""The duplicates panel's similar shots (issue 14): their own section, never marked by a keep rule,
still open to a hand pick, and never a way to lose every copy of a photo."""

from __future__ import annotations

from pathlib import Path

from app.duplicates_panel import IdRole


def test_similar_shots_have_their_own_section_and_no_rule_marks_them(qtbot, indexed) -> None:  # noqa: ANN001
    win = indexed
    dp = win.duplicates
    win.tabs.setCurrentWidget(dp)
    # Strict: only near-identical photos count as copies, so the planted edits become similar shots
    dp.level.setValue(0)
    dp.similar_box.setChecked(True)
    with qtbot.waitSignal(win.duplicatesFound, timeout=60_000) as sig:
        win.duplicates_ctl.find_duplicates()
    groups = sig.args[0].groups
    similar = [n for n, g in enumerate(groups) if g.kind == "similar"]
    copies = [n for n, g in enumerate(groups) if g.kind != "similar"]
    assert similar and copies, [(g.kind, [Path(p).name for p in g.paths]) for g in groups]
    assert dp.section_items["similar"].childCount() == len(similar)
    assert "Similar shots" in dp.section_items["similar"].text(0)
    assert not any(dp.marked[n] for n in similar)  # nothing pre-marked
    assert all(dp.marked[n] for n in copies)  # while every copy group has its rule's marks
    dp.rule.setCurrentIndex(dp.rule.findData("size"))
    with qtbot.waitSignal(win.plansApplied, timeout=30_000):
        dp.apply_btn.click()
    assert not any(dp.marked[n] for n in similar) and all(dp.marked[n] for n in copies)

    # a hand pick in a similar group counts, but never one that would leave a group (of either
    # level: a photo can be in both) without a photo
    in_copies = {i for k in copies for i in groups[k].image_ids}
    n = next(k for k in similar if set(groups[k].image_ids) - in_copies and set(groups[k].image_ids) & in_copies)
    dp.select_group(n)
    assert dp.group_title.text().startswith("Similar shots (not copies)")
    ids = groups[n].image_ids
    decisions = {dp.members.topLevelItem(r).data(0, IdRole): dp.members.topLevelItem(r).text(4)
                 for r in range(dp.members.topLevelItemCount())}
    assert {i for i, d in decisions.items() if d == "Remove (marked in another group)"} == \
        {i for i in ids if any(i in dp.marked[k] for k in copies)}
    assert "Keep (rule)" not in decisions.values()
    keeper = next(i for i in ids if i in in_copies and not any(i in dp.marked[k] for k in copies))
    assert not dp.set_mark(n, keeper, remove=True)  # the last unmarked copy in its copy group
    lone = min(set(ids) - in_copies)
    assert dp.set_mark(n, lone, remove=True) and lone in dp.marked_ids()
    for i in ids:
        dp.set_mark(n, i, remove=True)
    for g in groups:  # no group of either level lost all its photos
        assert not set(g.image_ids) <= set(dp.marked_ids())

    # off again: found again without the section
    with qtbot.waitSignal(win.duplicatesFound, timeout=60_000) as sig:
        dp.similar_box.setChecked(False)
    assert not any(g.kind == "similar" for g in sig.args[0].groups)
    assert "similar" not in dp.section_items
