"""How a tag search reads what a person typed: "photos of dogs" and "a dog" ask for "dog".

Tags are bare nouns ("dog", "sea lion"); people type phrases. The text model reads "photos of X"
as a sentence about photos, and the held-out tag benchmark's mAP falls from 0.519 to 0.413 when
each query is typed that way (0.476 for "a X"; bench/eval_tags_real.py). So a search first drops
a leading request ("show me", "find"), a determiner ("a", "the", "my", "some"), a "photos of"
("pictures of", "images with", ...) and a trailing "photos" ("beach photos"), English only, and
then reads a plural as its singular (hashcore/tags/plural.py). Anything else stays as typed; a
phrase that would become empty ("photos of") stays whole.
"""

from __future__ import annotations

import re

from hashcore.tags.plural import singular

_DET = r"(?:the|a|an|my|our|your|some|any|all|all the|all my|these|those)"
_PHOTOS = r"(?:photos?|photographs?|pictures?|pics?|images?|shots?|snaps?|snapshots?)"
_LEAD = re.compile(rf"^(?:(?:please )?(?:show(?: me)?|find(?: me)?|search(?: for)?|look(?:ing)? for) )?"
                   rf"(?:{_DET} )?(?:{_PHOTOS} (?:of|with|showing|containing) )?(?:{_DET} )?")
_TAIL = re.compile(rf" {_PHOTOS}$")  # "beach photos"


def subject(tag: str) -> str:
    """The thing a (normalised, lower-case) tag text asks for: "photos of the dogs" -> "dogs"."""
    rest = _TAIL.sub("", _LEAD.sub("", tag, count=1))
    return rest if rest.strip() else tag


def read(tag: str) -> str:
    """What the models read for a tag text: its subject, in the singular ("photos of dogs" -> "dog")."""
    return singular(subject(tag))
