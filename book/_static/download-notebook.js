// The download button of sphinx-book-theme links to the page's source in _sources/ with target="_blank": for an
// exercise that source is its notebook, and a browser would show the JSON in a new tab. Save it as a file instead.
document.addEventListener("DOMContentLoaded", () => {
  const selector = "a.btn-download-source-button, a.btn-download-notebook-button";
  for (const link of document.querySelectorAll(selector)) {
    const path = new URL(link.href, document.baseURI).pathname;
    if (path.endsWith(".ipynb")) {
      link.setAttribute("download", path.split("/").pop());
      link.removeAttribute("target");
    }
  }
});
