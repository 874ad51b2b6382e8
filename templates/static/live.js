/* live.js: keeps an open page of the forum live over the /ws WebSocket (issue 4).
 *
 * Progressive enhancement: no build step, no framework, no inline script; every page works
 * without it. The page says what to follow through data- attributes on <body>:
 *   data-topic="42"       a topic: new replies appear, edits, hides, deletes and reaction counts
 *                         update in place, "X is typing…" (#live-typing), "N members reading"
 *                         (#live-reading); typing in #reply-body tells the others (throttled)
 *   data-category="slug"  a category: the "N new topics — show" bar (#live-new)
 *   data-latest           the home page's latest list: the same bar, for new topics anywhere
 *   data-user="name"      signed in: the header badge (#live-notifications): unread notifications
 * On a topic page, reactions and bookmarks are sent in place (the page is not reloaded; the
 * post is fetched again as /p/<id>/fragment), also when live updates are off.
 * Post markup is never built here: GET /p/<id>/fragment returns the <article> the topic page
 * would show this viewer (the server's policy decides). Texts come from the elements'
 * data-one / data-many attributes, translated by the server.
 * The first subscription sends since=<the page's live-since>; the socket reconnects with
 * capped exponential back-off and jitter and resubscribes with since=<last event id seen>, so
 * missed events replay; a "resync" frame reloads the page.
 * <body data-live="connecting|connected|offline"> tells CSS (and tests) the state; when it
 * stops, #live-status (role=status, base.html) says so and why: the page was opened at another
 * address than FORUM_BASE_URL's (data-origin), the server refused the handshake or closed it
 * with a reason (1008), or it cannot be reached. Connected again, the text goes.
 */
(function () {
  "use strict";
  const data = document.body.dataset;
  const topic = Number(data.topic) || 0;
  const channels = [];
  if (topic) channels.push("topic:" + topic);
  if (data.category) channels.push("category:" + data.category);
  if ("latest" in data) channels.push("latest");
  if (data.user) channels.push("user");
  if (!channels.length || !("WebSocket" in window)) return;

  const $ = (id) => document.getElementById(id);
  const say = (el, n, key, value) => (n === 1 ? el.dataset.one : el.dataset.many).replace(key, value);
  const TYPING_EVERY = 3000; // ms between our typing frames while the user types
  const TYPING_SHOWN = 6000; // ms a "… is typing" lasts without news
  const DRAFT = "live-draft:" + topic;

  // -- the connection -----------------------------------------------------------------------
  let socket = null;
  // Highest event id seen, sent as `since` when subscribing. It starts at the newest event the
  // server knew before reading what this page shows (<meta name="live-since">), so whatever
  // happened between those reads and the first subscription is replayed, not lost.
  const since = document.querySelector('meta[name="live-since"]');
  let lastId = (since && Number(since.content)) || null;
  let attempt = 0;
  let timer = 0;
  let lastFrame = 0;

  function connect() {
    clearTimeout(timer);
    data.live = "connecting";
    const ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws");
    socket = ws;
    ws.onopen = () => {
      lastFrame = Date.now();
      const frame = { type: "subscribe", channels: channels };
      if (lastId !== null) frame.since = lastId;
      send(frame);
    };
    ws.onmessage = (message) => {
      lastFrame = Date.now();
      let frame;
      try { frame = JSON.parse(message.data); } catch (e) { return; }
      if (frame && typeof frame === "object") receive(frame);
    };
    ws.onclose = (event) => { if (socket === ws) { drop(); explain(opened, event); } };
    let opened = false;
    ws.addEventListener("open", () => { opened = true; });
  }

  // -- saying so when live updates stop (#live-status, role=status) ---------------------------
  const status = $("live-status");
  function show(key, values) {
    if (!status) return;
    let text = key ? status.dataset[key] || "" : "";
    Object.keys(values || {}).forEach((k) => { text = text.split("{" + k + "}").join(values[k]); });
    if (status.textContent !== text) status.textContent = text;
  }

  function explain(opened, event) {
    if (opened) { // it worked, then ended: a policy close says why, anything else is an outage
      if (event.code === 1008 && event.reason) show("stopped", { reason: event.reason });
      else show("offline");
      return;
    }
    // Refused before it opened (a browser tells a script no more): ask the page and the server.
    const expected = status && status.dataset.origin;
    if (expected && expected !== location.origin) {
      show("elsewhere", { expected: expected, here: location.origin });
      return;
    }
    fetch("/healthz", { cache: "no-store", credentials: "same-origin" })
      .then(() => data.live !== "connected" && show("refused"))
      .catch(() => data.live !== "connected" && show("offline"));
  }

  function drop() { // forget the socket and try again later: 0.5 s, 1 s, 2 s … 30 s, jittered
    if (socket) { socket.onclose = null; socket.close(); socket = null; }
    data.live = "offline";
    const ceiling = Math.min(30000, 500 * 2 ** Math.min(attempt++, 6));
    clearTimeout(timer);
    timer = setTimeout(connect, ceiling / 2 + Math.random() * ceiling / 2);
  }

  function send(frame) {
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(frame));
  }

  setInterval(() => { // the server pings too; this notices a connection that died silently
    if (!socket || socket.readyState !== WebSocket.OPEN) return;
    if (Date.now() - lastFrame > 65000) drop();
    else send({ type: "ping" });
  }, 25000);
  window.addEventListener("online", () => { if (data.live === "offline") { attempt = 0; connect(); } });

  function receive(frame) {
    if (typeof frame.id === "number") lastId = Math.max(lastId || 0, frame.id);
    if (frame.type === "subscribed") {
      attempt = 0;
      lastId = Math.max(lastId || 0, frame.last_id || 0);
      data.live = "connected";
      show("");
    } else if (frame.type === "resync") {
      reload();
    } else if (frame.type === "event" && handlers[frame.name]) {
      handlers[frame.name](frame.data || {});
    }
  }

  function reload() { // keep what the user was writing
    const box = $("reply-body");
    if (box && box.value) sessionStorage.setItem(DRAFT, box.value);
    location.reload();
  }

  const handlers = {
    "post.created": (d) => { addPost(d.post_id, d.number); countReply(d.number); stopTyping(d.author); },
    "post.edited": (d) => refresh(d.post_id),
    "post.hidden": (d) => refresh(d.post_id),
    "post.deleted": (d) => refresh(d.post_id),
    "reaction.changed": (d) => setCounts(d.post_id, d.counts || {}),
    "topic.updated": (d) => retitle(d),
    // A merge: the target's readers reload (new posts), the merged topic's follow it there.
    "topic.merged": (d) => (Number(d.into) === topic ? reload() : location.assign("/t/" + Number(d.into))),
    "topic.created": (d) => newTopic(d.topic_id),
    "notification.created": (d) => notify(d),
    "notification.read": (d) => notify(d),
    "review.counts": (d) => reviewCount(d.pending),
    // A sanction on this member (user channel): the reloaded page shows the warning or the
    // silenced notice in place of the reply box (a suspension closes the socket instead).
    "sanction.created": () => reload(),
    "sanction.lifted": () => reload(),
    "typing": (d) => typing(d.username),
    "presence": (d) => reading(d.reading),
  };

  // -- a topic's posts ------------------------------------------------------------------------
  const posts = document.querySelector(".posts");
  const pending = {}; // post id -> the last fetch queued for it, so fetches never overtake

  function article(postId) {
    const link = posts && posts.querySelector('a.permalink[href="/p/' + Number(postId) + '"]');
    return link ? link.closest("article") : null;
  }

  function fragment(postId, then) {
    const previous = pending[postId] || Promise.resolve();
    pending[postId] = previous.then(() =>
      fetch("/p/" + Number(postId) + "/fragment", { credentials: "same-origin" })
        .then((r) => (r.ok ? r.text() : ""))
        .then((html) => {
          const t = document.createElement("template");
          t.innerHTML = html.trim();
          const el = t.content.firstElementChild;
          if (el && el.tagName === "ARTICLE") then(el);
        })
        .catch(() => {}));
  }

  // The header's "N replies": one more for each post numbered past the highest it counted
  // (a replayed or repeated event adds nothing). Plural forms and digits of the page's language.
  function countReply(number) {
    const el = $("live-replies");
    if (!el || !(Number(number) > Number(el.dataset.highest))) return;
    el.dataset.highest = String(number);
    const n = Number(el.dataset.count) + 1;
    el.dataset.count = String(n);
    const lang = document.documentElement.lang || "en";
    const one = new Intl.PluralRules(lang).select(n) === "one";
    el.textContent = (one ? el.dataset.one : el.dataset.many).replace("{n}", n.toLocaleString(lang));
  }

  function addPost(postId, number) {
    // Only on the topic's last page: elsewhere the "Later posts" link leads to it.
    if (!posts || !topic || document.querySelector('a[rel="next"]')) return;
    if ($("p" + number) || article(postId)) return;
    fragment(postId, (el) => {
      if ($(el.id) || article(postId)) return; // arrived twice
      const later = Array.from(posts.querySelectorAll("article.post"))
        .find((a) => Number(a.id.slice(1)) > number);
      const empty = posts.querySelector(".empty");
      if (empty) empty.remove();
      el.classList.add("is-live");
      posts.insertBefore(el, later || null);
      announce(el);
    });
  }

  function announce(el) { // #live-announce (role=status): "New reply by <name>", others' only
    const region = $("live-announce");
    const author = el.querySelector(".post-author");
    const username = author && author.querySelector(".username");
    if (!region || !author || (username && username.textContent === "@" + data.user)) return;
    const name = (author.querySelector("a") || author.firstChild).textContent.trim();
    region.textContent = region.dataset.one.replace("{name}", name);
  }

  function refresh(postId) {
    if (!article(postId)) return;
    fragment(postId, (el) => {
      const old = article(postId);
      if (old) old.replaceWith(el);
    });
  }

  function setCounts(postId, counts) {
    const art = article(postId);
    if (!art || art.classList.contains("post-removed")) return;
    // A reaction is a button named for its kind (members who may react) or a count only.
    const reactions = Array.from(art.querySelectorAll(".reactions > button, .reactions > span"));
    const missing = Object.keys(counts).some((kind) =>
      counts[kind] && !reactions.some((el) => (el.dataset.kind || el.name) === kind));
    if (missing) return refresh(postId); // a kind this viewer had no element for yet
    reactions.forEach((el) => {
      const n = counts[el.dataset.kind || el.name] || 0;
      let count = el.querySelector(".count");
      if (!n && el.tagName !== "BUTTON") return el.remove();
      if (!n) return count && count.remove();
      if (!count) {
        count = document.createElement("span");
        count.className = "count";
        el.append(" ", count);
      }
      count.textContent = n;
    });
  }

  function retitle(d) {
    const h1 = document.querySelector(".topic-header h1");
    if (h1 && typeof d.title === "string" && d.topic_id === topic) h1.textContent = d.title;
  }

  // -- typing and presence ----------------------------------------------------------------------
  const typists = new Map(); // username -> timer that forgets them

  function typing(name) {
    if (typeof name !== "string" || name === data.user) return;
    clearTimeout(typists.get(name));
    typists.set(name, setTimeout(() => stopTyping(name), TYPING_SHOWN));
    showTyping();
  }

  function stopTyping(name) {
    if (!typists.has(name)) return;
    clearTimeout(typists.get(name));
    typists.delete(name);
    showTyping();
  }

  function showTyping() {
    const el = $("live-typing");
    if (!el) return;
    const names = Array.from(typists.keys());
    el.textContent = names.length ? say(el, names.length, "{names}", names.join(", ")) : "";
    el.hidden = !names.length;
  }

  function reading(n) {
    const el = $("live-reading");
    if (!el || typeof n !== "number") return;
    el.textContent = n > 0 ? say(el, n, "{n}", n) : "";
    el.hidden = !(n > 0);
  }

  const box = $("reply-body");
  if (box && topic) {
    const draft = sessionStorage.getItem(DRAFT);
    sessionStorage.removeItem(DRAFT);
    if (draft && !box.value) box.value = draft;
    let typedAt = 0;
    box.addEventListener("input", () => {
      if (Date.now() - typedAt < TYPING_EVERY) return;
      typedAt = Date.now();
      send({ type: "typing", topic: topic });
    });
  }

  // -- lists and the header -------------------------------------------------------------------
  const fresh = new Set(); // ids of topics created since the list was shown

  function newTopic(id) {
    const bar = $("live-new");
    if (!bar || typeof id !== "number" || $("topic-" + id)) return;
    fresh.add(id);
    bar.querySelector(".live-new-count").textContent = say(bar, fresh.size, "{n}", fresh.size);
    bar.hidden = false;
  }


  // The server counts: every notification event carries the member's unread count.
  function notify(d) {
    const badge = $("live-notifications");
    if (!badge || typeof d.unread !== "number") return;
    badge.textContent = d.unread ? String(d.unread) : "";
    badge.hidden = !d.unread;
  }

  // Staff: the header's count of items waiting in their review queue.
  function reviewCount(pending) {
    const badge = $("live-review-count");
    if (!badge || typeof pending !== "number") return;
    badge.textContent = String(pending);
    badge.dataset.count = String(pending);
    badge.hidden = pending === 0;
  }

  connect();
})();

/* A table wider than its column scrolls inside itself (forum.css); to be scrolled from the
 * keyboard it must take focus, so one with nothing focusable inside gets tabindex=0 while it
 * scrolls (WCAG 2.1.1; axe's scrollable-region-focusable). Every page, also without live. */
(function () {
  "use strict";
  const FOCUSABLE = "a[href], button, input, select, textarea, [tabindex]:not([data-scrolls])";
  function mark() {
    document.querySelectorAll("main table").forEach((table) => {
      const scrolls = table.scrollWidth > table.clientWidth + 1 && !table.querySelector(FOCUSABLE);
      if (scrolls && !table.hasAttribute("tabindex")) {
        table.tabIndex = 0;
        table.dataset.scrolls = "";
      } else if (!scrolls && "scrolls" in table.dataset) {
        table.removeAttribute("tabindex");
        delete table.dataset.scrolls;
      }
    });
  }
  let queued = false;
  window.addEventListener("resize", () => {
    if (queued) return;
    queued = true;
    requestAnimationFrame(() => { queued = false; mark(); });
  });
  mark();
})();

/* Reactions and bookmarks, in place: a post's one form, sent with the button pressed (a
 * reaction kind, or the bookmark with its formaction); the post is then fetched again as the
 * server renders it for this viewer. Without this script the form posts and the page reloads. */
(function () {
  "use strict";
  if (!document.body.dataset.topic || !("fetch" in window)) return;
  const csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  document.addEventListener("submit", (event) => {
    const form = event.target;
    const button = event.submitter;
    // formAction is the page's own address when the button has no formaction of its own
    const action = button && button.hasAttribute("formaction") ? button.formAction : form.action;
    const match = /\/p\/(\d+)\/(react|bookmark)$/.exec(action || "");
    if (!match) return;
    event.preventDefault();
    const fields = new URLSearchParams(new FormData(form));
    if (button && button.name) fields.set(button.name, button.value);
    fetch(action, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRF-Token": csrf },
      body: fields,
      redirect: "manual",
    }).then((response) => {
      if (response.type !== "opaqueredirect") return resubmit(form, button, action); // let the page say why
      return fetch("/p/" + match[1] + "/fragment", { credentials: "same-origin" }).then(async (r) => {
        if (!r.ok) return;
        const old = form.closest("article.post");
        const holder = document.createElement("div");
        holder.innerHTML = await r.text(); // the server's own rendering of the post
        const fresh = holder.querySelector("article.post");
        if (!old || !fresh) return;
        old.replaceWith(fresh);
        const same = button && fresh.querySelector(button.classList.contains("bookmark")
          ? "button.bookmark" : '.reactions button[name="' + CSS.escape(button.name) + '"]');
        if (same) same.focus();
      });
    }, () => resubmit(form, button, action));
  });

  // The same request as a plain form post, for the page that explains a refusal.
  function resubmit(form, button, action) {
    const plain = document.createElement("form");
    plain.method = "post";
    plain.action = action;
    plain.hidden = true;
    for (const [name, value] of new FormData(form)) plain.append(field(name, value));
    if (button && button.name) plain.append(field(button.name, button.value));
    document.body.append(plain);
    plain.submit();
  }

  function field(name, value) {
    const input = document.createElement("input");
    input.type = "hidden";
    input.name = name;
    input.value = value;
    return input;
  }
})();
