/* attach.js: images and files in posts (issue 14), beside composer.js. Progressive
 * enhancement: without it the composer works, only without attachments.
 *
 * Each `.composer-toolbar` (templates/partials/composer.html; data-target = its textarea's id)
 * holds a hidden "Attach a file" button (templates/partials/attach.html, texts translated by
 * the server in its data- attributes). Here the button is shown and given a hidden file input;
 * a chosen, dropped or pasted file is sent to POST /composer/attachments (multipart, the
 * page's CSRF token as X-CSRF-Token) and the markdown the server answers (an image or a link)
 * is inserted at the cursor, with an `input` event so the draft is saved. A refusal shows the
 * server's message in the textarea's error region; the text is never touched then.
 */
(function () {
  "use strict";
  const csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  const ACCEPT = "image/png,image/jpeg,image/gif,image/webp,.png,.jpg,.jpeg,.gif,.webp,"
    + ".pdf,.docx,.xlsx,.pptx";

  function insert(area, markdown) {
    const start = area.selectionStart, end = area.selectionEnd;
    const before = area.value.slice(0, start), after = area.value.slice(end);
    const lead = before && !before.endsWith("\n") ? "\n" : "";
    const trail = after.startsWith("\n") ? "" : "\n";
    area.setRangeText(lead + markdown + trail, start, end, "end");
    area.focus();
    area.dispatchEvent(new Event("input", { bubbles: true }));
  }

  function setUp(bar) {
    const button = bar.querySelector(".composer-attach");
    const area = document.getElementById(bar.dataset.target);
    if (!button || !area) return;
    const status = document.getElementById(area.id + "-status");
    const error = document.getElementById(area.id + "-error");
    const texts = button.dataset;

    const say = (text) => { if (status) status.textContent = text; };
    const fail = (text) => {
      say("");
      if (error) { error.textContent = text; error.hidden = false; }
    };

    async function send(file) {
      if (error) { error.textContent = ""; error.hidden = true; }
      say(texts.uploading + " " + file.name);
      const body = new FormData();
      body.append("file", file, file.name);
      let response;
      try {
        response = await fetch("/composer/attachments", {
          method: "POST",
          credentials: "same-origin",
          headers: { "X-CSRF-Token": csrf },
          body,
        });
      } catch (_unreachable) {
        return fail(texts.failed);
      }
      let data = null;
      try { data = await response.json(); } catch (_notJson) { data = null; }
      if (!response.ok || !data || !data.markdown) {
        return fail((data && data.error && data.error.message) || texts.failed);
      }
      insert(area, data.markdown);
      say(texts.attached + " " + data.name);
    }
    async function sendAll(files) {
      for (const file of Array.from(files || [])) await send(file);
    }

    const input = document.createElement("input");
    input.type = "file";
    input.accept = ACCEPT;
    input.multiple = true;
    input.hidden = true;
    input.className = "composer-attach-input";
    input.tabIndex = -1;
    input.setAttribute("aria-hidden", "true");
    button.after(input);
    button.hidden = false;
    button.addEventListener("click", () => input.click());
    input.addEventListener("change", async () => {
      const files = Array.from(input.files || []);
      input.value = "";
      await sendAll(files);
    });

    const carriesFiles = (event) =>
      event.dataTransfer && Array.from(event.dataTransfer.types || []).includes("Files");
    area.addEventListener("dragover", (event) => {
      if (!carriesFiles(event)) return;
      event.preventDefault();
      event.dataTransfer.dropEffect = "copy";
      if (!area.classList.contains("composer-drop")) say(texts.drop);
      area.classList.add("composer-drop");
    });
    const leave = () => {
      if (area.classList.contains("composer-drop")) say("");
      area.classList.remove("composer-drop");
    };
    area.addEventListener("dragleave", leave);
    area.addEventListener("drop", (event) => {
      if (!carriesFiles(event)) return;
      event.preventDefault();
      leave();
      sendAll(event.dataTransfer.files);
    });
    area.addEventListener("paste", (event) => {
      const files = event.clipboardData ? Array.from(event.clipboardData.files || []) : [];
      if (!files.length) return; // text is pasted as usual
      event.preventDefault();
      sendAll(files);
    });
  }

  document.querySelectorAll(".composer-toolbar").forEach(setUp);
})();
