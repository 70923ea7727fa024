"""An example sidequest backend: the dictdb:// scheme."""
