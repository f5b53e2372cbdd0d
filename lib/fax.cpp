// fax: to be written.
