"""Text shared by the command line and the console: tables, sizes and ages, the deploy plan and
progress.
"""
