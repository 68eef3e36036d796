"""Which copy to keep, and moving the rest to the trash (with undo)."""
