"""seedgate: a self-hostable gateway for asynchronous AI video generation."""

__version__ = "0.1.0"
