"""What the console shows and changes, without Textual: the live store, reads on worker threads,
deploy flows, progress.
"""
