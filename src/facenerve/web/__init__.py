"""The web app: accounts and roles, recording in the browser, background analysis, diary,
trends and reports, over the same library as the command line (``facenerve serve``)."""
