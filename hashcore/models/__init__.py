"""The backbone, the text encoder, the hashing methods, training, and the model manifest."""
