"""The side-by-side compare view on its own: two real photos of different sizes, loaded after the
rows as the Duplicates panel's worker delivers them. At Fit each view shows all of its photo,
centred, also after a resize; a drag by the user pans every view to the same place, while the
scroll bars moving by themselves (a new photo, a resize) pan nothing."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QPoint, QPointF, QRectF, Qt
from PySide6.QtGui import QImage, QMouseEvent
from PySide6.QtWidgets import QApplication

from app.compare import CompareView, ZoomView
from tests.photos import SAMPLES


def drag(view: ZoomView, by: QPoint) -> None:
    """A left-button drag across a view's viewport, as a mouse makes it."""
    vp = view.viewport()
    start = vp.rect().center()
    left, none = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton
    mods = Qt.KeyboardModifier.NoModifier
    for kind, at, button, held in ((QEvent.Type.MouseButtonPress, start, left, left),
                                   (QEvent.Type.MouseMove, start + by / 2, none, left),
                                   (QEvent.Type.MouseMove, start + by, none, left),
                                   (QEvent.Type.MouseButtonRelease, start + by, left, none)):
        QApplication.sendEvent(vp, QMouseEvent(kind, QPointF(at), QPointF(vp.mapToGlobal(at)), button, held, mods))


def whole_photo_shown(v: ZoomView) -> bool:
    seen = v.mapToScene(v.viewport().rect()).boundingRect()
    return (seen.contains(QRectF(0.5, 0.5, v.img_w - 1, v.img_h - 1))
            and abs(seen.center().x() - v.img_w / 2) < 2 and abs(seen.center().y() - v.img_h / 2) < 2)


def test_fit_shows_each_whole_photo_and_a_drag_pans_them_together(qtbot) -> None:  # noqa: ANN001
    view = CompareView()
    qtbot.addWidget(view)
    view.resize(1000, 700)
    view.show()
    paths = [str(SAMPLES / "chelsea-cat.jpg"), str(SAMPLES / "coffee.jpg")]
    rows = [{"id": n, "path": p, "width": 1, "height": 1, "size": 1, "format": "JPEG"} for n, p in enumerate(paths)]
    view.set_rows(rows)
    qtbot.waitUntil(lambda: len(view.views) == 2)
    view.set_images({p: QImage(p) for p in paths})  # later, as the worker's thumbnails come
    assert len({v.img_w for v in view.views}) == 2
    qtbot.waitUntil(lambda: all(whole_photo_shown(v) for v in view.views), timeout=5_000)
    view.resize(1300, 800)
    qtbot.waitUntil(lambda: all(whole_photo_shown(v) for v in view.views), timeout=5_000)
    assert view.centre == QPointF(0.5, 0.5)  # nothing the user did moved the shared centre

    view.one_btn.click()  # 100%: larger than the views, so there is room to pan
    before = view.views[1].centre_fraction()
    drag(view.views[0], QPoint(-80, -40))
    after = [v.centre_fraction() for v in view.views]
    assert after[1].x() - before.x() > 0.02 and after[1].y() - before.y() > 0.02  # the other view followed
    assert abs(after[0].x() - after[1].x()) < 0.02 and abs(after[0].y() - after[1].y()) < 0.02
