"""Tags: keywords in files, automatic tags, tag search, and the multimodal model behind it."""
