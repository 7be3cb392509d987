# The course website. Included from the Makefile (`include make/book.mk`), which defines setup, VENV and PY.
#
#   make book          set up .venv if needed, build _build/html strictly, print where to open it
#   make book-clean    remove _build (site, execution cache, Sphinx environment)
#   make chromium      install Debian's Chromium for the browser test if it is missing (as root; else say how)
#   make book-test     build the book, then run the tests of the built site (structure, leaks, browser)
#
# BOOK_FLAGS=--clean rebuilds from scratch: `make book BOOK_FLAGS=--clean`.

BOOK_FLAGS ?=
CHROMIUM ?= /usr/bin/chromium

.PHONY: book book-clean book-test chromium

book: setup
	VENV=$(VENV) bash scripts/book.sh $(BOOK_FLAGS)

book-clean:
	rm -rf _build

# Idempotent and quiet: nothing happens when Chromium is there. Playwright's own browser download is never used.
chromium:
	@if [ -x "$(CHROMIUM)" ] || [ -x "$${RNN_CHROMIUM:-}" ] || command -v chromium >/dev/null 2>&1; then \
		true; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "chromium: installing Debian's chromium for the browser test (apt-get)"; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get update -qq >/dev/null && apt-get install -y -qq chromium >/dev/null; \
	else \
		echo "chromium: not found. The browser test needs it: sudo apt-get install chromium"; \
		echo "          (or set RNN_CHROMIUM=/path/to/chromium). Until then tests/test_browser.py fails on a built site."; \
	fi

# RNN_REQUIRE_BOOK turns "site not built" or "no browser" from a visible skip into a failure.
book-test: book chromium
	RNN_REQUIRE_BOOK=1 $(PY) -m pytest tests/test_site.py tests/test_browser.py
