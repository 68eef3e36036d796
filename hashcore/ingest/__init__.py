"""From files to rows: decoding (Pillow, EXIF, draft mode), thumbnails, the incremental indexer."""
