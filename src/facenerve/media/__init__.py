"""Media in and out: video decoding (``video``) and atomic output folders (``outputs``)."""
