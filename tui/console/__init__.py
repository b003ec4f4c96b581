"""The console: the Textual app's screens, views and widgets, and `model/`, the data they show."""
