"""The run directory: files written atomically, its one owner, file names a recipe gives, the .hydra record, scratch folders for reports."""
