// postsms: to be written.
