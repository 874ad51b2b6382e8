/* search.js: suggestions under the header's search box (issue 13).
 *
 * Progressive enhancement: without it the box is a plain GET form to /search. With it, typing
 * asks GET /api/v1/search/suggest?q= at most once per 150 ms (the request waits until 150 ms
 * after the last key and never starts sooner than 150 ms after the previous one), shows topic
 * titles and people in a listbox (role="listbox", options with aria-selected, the input's
 * aria-expanded and aria-activedescendant kept true to what is shown), arrows move, Enter
 * opens the chosen suggestion, Escape closes. Labels are set as text, never as markup.
 */
(function () {
  "use strict";
  const input = document.getElementById("header-search-q");
  const list = document.getElementById("header-search-suggestions");
  if (!input || !list || !("fetch" in window)) return;
  const DELAY = 150; // ms
  let timer = 0;
  let lastSent = 0;
  let asked = "";
  let active = -1;
  let controller = null;

  const options = () => Array.from(list.querySelectorAll("[role=option]"));

  function close() {
    list.hidden = true;
    list.textContent = "";
    active = -1;
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
  }

  function choose(index) {
    const all = options();
    all.forEach((el, i) => el.setAttribute("aria-selected", i === index ? "true" : "false"));
    active = index;
    if (index >= 0 && all[index]) input.setAttribute("aria-activedescendant", all[index].id);
    else input.removeAttribute("aria-activedescendant");
  }

  function show(suggestions) {
    list.textContent = "";
    suggestions.forEach((s, i) => {
      const li = document.createElement("li");
      li.id = "header-search-option-" + i;
      li.setAttribute("role", "option");
      li.setAttribute("aria-selected", "false");
      li.dataset.url = s.url;
      li.className = "suggestion suggestion-" + s.kind;
      li.textContent = s.label;
      li.addEventListener("mousedown", (event) => {
        event.preventDefault();
        window.location.assign(s.url);
      });
      list.appendChild(li);
    });
    active = -1;
    list.hidden = suggestions.length === 0;
    input.setAttribute("aria-expanded", suggestions.length ? "true" : "false");
  }

  async function ask() {
    timer = 0;
    const q = input.value.trim();
    if (q.length < 2) return close();
    if (q === asked) return;
    asked = q;
    lastSent = Date.now();
    if (controller) controller.abort();
    controller = new AbortController();
    try {
      const response = await fetch(input.dataset.suggest + "?q=" + encodeURIComponent(q), {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
        signal: controller.signal,
      });
      if (!response.ok) return close();
      const body = await response.json();
      if (input.value.trim() === q) show(body.suggestions || []);
    } catch (error) {
      if (error.name !== "AbortError") close();
    }
  }

  input.addEventListener("input", () => {
    if (timer) clearTimeout(timer);
    const wait = Math.max(DELAY, lastSent + DELAY - Date.now());
    timer = setTimeout(ask, wait);
  });
  input.addEventListener("keydown", (event) => {
    const all = options();
    if (event.key === "ArrowDown" && all.length) {
      event.preventDefault();
      choose((active + 1) % all.length);
    } else if (event.key === "ArrowUp" && all.length) {
      event.preventDefault();
      choose(active <= 0 ? all.length - 1 : active - 1);
    } else if (event.key === "Enter" && active >= 0 && all[active]) {
      event.preventDefault();
      window.location.assign(all[active].dataset.url);
    } else if (event.key === "Escape") {
      close();
    }
  });
  input.addEventListener("blur", () => setTimeout(close, 100));
})();
