"""storydesk's chat side: the platform-neutral Answer, renderers, and thin platform adapters."""
