// translit: to be written.
