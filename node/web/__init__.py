"""Server-rendered HTML pages of a node: the directory, events and the node's own page."""
