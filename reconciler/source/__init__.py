"""Where desired state comes from: a directory, or a git repository the agent follows."""
