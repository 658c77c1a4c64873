"""Named compute sessions: the registry, run ordering and output streaming."""
