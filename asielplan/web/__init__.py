"""The workbench web application (``asielplan serve``)."""
