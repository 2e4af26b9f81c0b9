"""`pipeline review`: a static review page of a run's output, to open from disk in a browser.

`build.build_review` reads the records (`load`), orders the pages by how much they need a look
(`order`), makes thumbnails of the scans (`images`) and writes the page and its data (`site`; the
HTML, JS and CSS are package data in `assets/`). Nothing is imported here, so `pipeline.cli` pays
for this package only when `review` is the command.
"""
