/* composer.js: the composer around post textareas (issue 14). Progressive enhancement: every
 * form still posts without it.
 *
 * A textarea's toolbar (templates/partials/composer.html, `.composer-toolbar`, hidden until
 * this runs) names it in data-target and its draft in data-draft. Here:
 *  - Markdown buttons (and Ctrl+B / Ctrl+I) wrap the selection or the line;
 *  - Preview shows the text as the server renders posts (POST /composer/preview: the same
 *    render_markdown and sanitiser; its HTML is the server's, never built here);
 *  - the draft is saved on the server a second after typing stops (POST
 *    /composer/drafts/<key>) and restored into an empty textarea on any device (GET); the
 *    server deletes it when the reply or topic is submitted;
 *  - "@na" offers members from the search suggestions (people) to mention;
 *  - selecting text in a post offers "Quote", which quotes it into the reply box;
 *  - the reply of a topic page is sent in place: the page is not reloaded (new posts arrive
 *    through live.js, which also sends reactions and bookmarks in place). A refused reply
 *    keeps its text and shows why.
 * Texts come from the toolbar's data- attributes, translated by the server.
 */
(function () {
  "use strict";
  const csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  const $ = (id) => document.getElementById(id);
  const SAVE_AFTER = 1000; // ms of quiet before a draft is saved
  const SUGGEST_AFTER = 150; // ms between suggestion requests while typing

  function post(url, fields) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRF-Token": csrf, "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(fields),
      redirect: "manual",
    });
  }

  // -- markdown buttons -----------------------------------------------------------------------
  function wrap(area, before, after, placeholder) {
    const start = area.selectionStart, end = area.selectionEnd;
    const chosen = area.value.slice(start, end) || placeholder;
    area.setRangeText(before + chosen + after, start, end, "end");
    area.selectionStart = start + before.length;
    area.selectionEnd = start + before.length + chosen.length;
    area.focus();
    area.dispatchEvent(new Event("input", { bubbles: true }));
  }
  function prefixLines(area, prefix) {
    const start = area.value.lastIndexOf("\n", area.selectionStart - 1) + 1;
    const end = area.selectionEnd;
    const lines = area.value.slice(start, end).split("\n");
    const done = lines.map((line, i) => (typeof prefix === "function" ? prefix(i) : prefix) + line);
    area.setRangeText(done.join("\n"), start, end, "end");
    area.focus();
    area.dispatchEvent(new Event("input", { bubbles: true }));
  }
  const ACTIONS = {
    bold: (a) => wrap(a, "**", "**", "text"),
    italic: (a) => wrap(a, "_", "_", "text"),
    code: (a) => (a.value.slice(a.selectionStart, a.selectionEnd).includes("\n")
      ? wrap(a, "\n```\n", "\n```\n", "code") : wrap(a, "`", "`", "code")),
    link: (a) => wrap(a, "[", "](https://)", "text"),
    quote: (a) => prefixLines(a, "> "),
    list: (a) => prefixLines(a, "- "),
    numbered: (a) => prefixLines(a, (i) => i + 1 + ". "),
  };

  function setUp(bar) {
    const area = $(bar.dataset.target);
    if (!area) return;
    const preview = $(area.id + "-preview");
    const status = $(area.id + "-status");
    const error = $(area.id + "-error");
    const mentions = $(area.id + "-mentions");
    const form = area.form;
    const title = form && form.querySelector("input[name=title]");
    const key = bar.dataset.draft;
    bar.hidden = false;

    bar.addEventListener("click", (event) => {
      const button = event.target.closest("button[data-md]");
      if (!button) return;
      if (button.dataset.md === "preview") return togglePreview(button);
      ACTIONS[button.dataset.md](area);
    });
    area.addEventListener("keydown", (event) => {
      if (!(event.ctrlKey || event.metaKey)) return;
      const name = { b: "bold", i: "italic" }[event.key.toLowerCase()];
      if (name) { event.preventDefault(); ACTIONS[name](area); }
    });

    // -- preview ------------------------------------------------------------------------------
    function togglePreview(button) {
      const showing = button.getAttribute("aria-pressed") === "true";
      if (showing) {
        button.setAttribute("aria-pressed", "false");
        button.textContent = bar.dataset.preview;
        preview.hidden = true;
        area.hidden = false;
        area.focus();
        return;
      }
      post("/composer/preview", { body: area.value }).then(async (response) => {
        if (!response.ok) return fail(await message(response));
        preview.innerHTML = await response.text(); // the server's sanitised rendering
        preview.hidden = false;
        area.hidden = true;
        button.setAttribute("aria-pressed", "true");
        button.textContent = bar.dataset.write;
      }, () => fail(bar.dataset.failed));
    }

    function fail(text) {
      if (!error) return;
      error.textContent = text;
      error.hidden = !text;
    }

    // -- drafts -------------------------------------------------------------------------------
    let timer = null;
    let saved = area.value;
    function save() {
      timer = null;
      if (area.value === saved) return;
      const fields = { body: area.value };
      if (title) fields.title = title.value;
      const sent = area.value;
      post("/composer/drafts/" + key, fields).then((response) => {
        if (response.status === 204) {
          saved = sent;
          status.textContent = bar.dataset.saved;
        }
      }, () => {});
    }
    if (key) {
      const later = () => { clearTimeout(timer); timer = setTimeout(save, SAVE_AFTER); };
      area.addEventListener("input", later);
      if (title) title.addEventListener("input", later);
      if (!area.value.trim()) {
        fetch("/composer/drafts/" + key, { credentials: "same-origin" }).then(async (response) => {
          if (response.status !== 200 || area.value.trim()) return;
          const draft = await response.json();
          area.value = draft.body;
          saved = draft.body;
          if (title && !title.value && draft.title) title.value = draft.title;
          status.textContent = bar.dataset.restored;
        }, () => {});
      }
    }

    // -- mentions -----------------------------------------------------------------------------
    let asked = 0, pending = null;
    area.addEventListener("input", () => {
      const before = area.value.slice(0, area.selectionStart);
      const match = /(?:^|[^\w@`])@([A-Za-z0-9_.-]{2,38})$/.exec(before);
      if (!match) { mentions.hidden = true; return; }
      clearTimeout(pending);
      const wait = Math.max(0, asked + SUGGEST_AFTER - Date.now());
      pending = setTimeout(() => suggest(match[1]), wait);
    });
    function suggest(typed) {
      asked = Date.now();
      fetch("/api/v1/search/suggest?q=" + encodeURIComponent(typed), { credentials: "same-origin" })
        .then((r) => (r.ok ? r.json() : { suggestions: [] }))
        .then((data) => {
          const people = data.suggestions.filter((s) => s.url.startsWith("/u/")).slice(0, 8);
          mentions.replaceChildren(...people.map((person) => {
            const item = document.createElement("li");
            item.setAttribute("role", "option");
            item.tabIndex = -1;
            const username = decodeURIComponent(person.url.slice(3));
            item.textContent = person.label + " @" + username;
            item.addEventListener("mousedown", (event) => { event.preventDefault(); choose(username, typed); });
            item.addEventListener("keydown", (event) => { if (event.key === "Enter") { event.preventDefault(); choose(username, typed); } });
            return item;
          }));
          mentions.hidden = !people.length;
        }, () => { mentions.hidden = true; });
    }
    function choose(username, typed) {
      const at = area.selectionStart;
      area.setRangeText(username + " ", at - typed.length, at, "end");
      mentions.hidden = true;
      area.focus();
      area.dispatchEvent(new Event("input", { bubbles: true }));
    }
    area.addEventListener("keydown", (event) => {
      if (mentions.hidden) return;
      if (event.key === "Escape") { mentions.hidden = true; return; }
      if (event.key === "ArrowDown" && mentions.firstChild) { event.preventDefault(); mentions.firstChild.focus(); }
    });
    mentions.addEventListener("keydown", (event) => {
      const item = event.target;
      if (event.key === "ArrowDown" && item.nextSibling) { event.preventDefault(); item.nextSibling.focus(); }
      if (event.key === "ArrowUp") { event.preventDefault(); (item.previousSibling || area).focus(); }
      if (event.key === "Escape") { mentions.hidden = true; area.focus(); }
    });

    // -- the reply, in place ------------------------------------------------------------------
    if (form && /\/t\/\d+\/reply$/.test(form.action) && document.body.dataset.topic) {
      form.addEventListener("submit", (event) => {
        event.preventDefault();
        const button = form.querySelector("button[type=submit]");
        button.disabled = true;
        fail("");
        post(form.action, { body: area.value, reply_to: (form.elements.reply_to || {}).value || "" })
          .then(async (response) => {
            button.disabled = false;
            if (response.type === "opaqueredirect") { // posted (or kept for approval)
              clearTimeout(timer);
              area.value = "";
              saved = "";
              status.textContent = "";
              if (document.body.dataset.live !== "connected") window.location.reload();
              return;
            }
            fail(await message(response)); // refused: the text stays
          }, () => { button.disabled = false; fail(bar.dataset.failed); });
      });
    }
  }

  async function message(response) {
    const text = await response.text();
    try {
      return JSON.parse(text).error.message;
    } catch (_e) {
      const page = new DOMParser().parseFromString(text, "text/html");
      const found = page.querySelector("#form-error, .form-error, .error-message, main p");
      return found ? found.textContent.trim() : String(response.status);
    }
  }

  document.querySelectorAll(".composer-toolbar").forEach(setUp);

  // -- quoting a selection ----------------------------------------------------------------------
  const reply = $("reply-body");
  const bar = reply && document.querySelector('.composer-toolbar[data-target="reply-body"]');
  if (reply && bar) {
    const quote = document.createElement("button");
    quote.type = "button";
    quote.className = "quote-selection";
    quote.textContent = bar.dataset.quote;
    quote.hidden = true;
    document.body.appendChild(quote);
    let chosen = null;
    document.addEventListener("selectionchange", () => {
      const selection = document.getSelection();
      const text = selection && !selection.isCollapsed ? selection.toString().trim() : "";
      const node = text && selection.anchorNode;
      const body = node && (node.nodeType === 1 ? node : node.parentElement).closest(".post-body");
      const article = body && body.closest("article.post");
      if (!article) { if (document.activeElement !== quote) quote.hidden = true; return; }
      const rect = selection.getRangeAt(0).getBoundingClientRect();
      quote.style.top = window.scrollY + rect.bottom + 6 + "px";
      quote.style.left = window.scrollX + rect.left + "px";
      quote.hidden = false;
      const author = article.querySelector(".username");
      const permalink = article.querySelector("a.permalink");
      const id = permalink ? (/\/p\/(\d+)$/.exec(permalink.getAttribute("href")) || [])[1] : "";
      chosen = { text, author: author ? author.textContent.trim() : "", id: id || "" };
    });
    quote.addEventListener("click", () => {
      if (!chosen) return;
      const lines = chosen.text.split("\n").map((line) => "> " + line);
      const link = chosen.id ? " [" + bar.dataset.wrote + "](/p/" + chosen.id + "):" : ":";
      const text = "> **" + chosen.author + "**" + link + "\n" + lines.join("\n") + "\n\n";
      reply.setRangeText(text, reply.selectionStart, reply.selectionEnd, "end");
      quote.hidden = true;
      reply.focus();
      reply.dispatchEvent(new Event("input", { bubbles: true }));
    });
  }
})();
