"""revisit: the application shell (command line, configuration, storage, demo) around the three stages."""
