"""Text shared by the command line and the console: tables, sizes, labels, the deploy plan and
its progress.
"""
