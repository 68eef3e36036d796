"""HashLens' shipped files: model heads (models/), the tag vocabulary (tags/), sample photos
(samples/) and the icon (icons/). No code: this file makes the folder the package
`hashcore.resources` of a wheel (pyproject.toml maps it there), so `importlib.resources` finds it."""
