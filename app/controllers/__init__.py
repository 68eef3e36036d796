"""One controller per panel: it serves the panel's requests by starting jobs on the worker pool
(`app.workers`, `app.jobs`) and hands the answers back through the panel's own methods. A
controller never touches a widget; the window only builds panels and controllers and connects
them."""
