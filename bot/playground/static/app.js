// The playground page: draws the emulator's chats and acts as the person you pick.
// Everything the bot says is rendered from Telegram's text + entities with DOM nodes
// (never innerHTML), so only Telegram's own formatting can appear and nothing else runs.
"use strict";

(() => {
  const $ = (selector, root = document) => root.querySelector(selector);
  const WIDE = window.matchMedia("(min-width: 820px)");
  const BLOCKS = new Set(["pre", "blockquote", "expandable_blockquote"]);
  const KIND_LABEL = { residents: "群聊 group", staff: "工作群 staff group", private: "私聊 private chat" };
  const EMPTY_HINT = {
    residents: "在群里说说遇到的问题，例如“#报修 3号楼2单元501 楼道灯不亮了”。\nTry: #报修 + a problem.",
    staff: "工作群：没人私聊过机器人时，工单卡片会发到这里。\nStaff group: cards land here for staff who have not started the bot.",
    private: "点下面的“开始”和机器人私聊。\nPress START to open a private chat with the bot.",
  };

  const state = {
    community: null,
    bot: null,
    people: [],
    chats: new Map(), // chat id -> {id, kind, title, blocked, messages: Map(id -> message)}
    me: null,
    active: null, // the chat shown on narrow screens
    unread: new Map(), // chat id -> count of messages nobody has looked at
    replyTo: new Map(), // chat id -> message id the composer replies to
    lastActor: new Map(), // chat id -> who last acted there from this page
    clock: { serverMs: Date.now(), localMs: performance.now() },
  };

  // ------------------------------------------------------------------ helpers

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function person(userId) {
    return state.people.find((p) => p.user_id === userId) || null;
  }

  function senderName(user) {
    if (!user) return "";
    if (state.bot && user.id === state.bot.id) return state.bot.first_name;
    const known = person(user.id);
    return known ? known.name : [user.first_name, user.last_name].filter(Boolean).join(" ");
  }

  function timeZone() {
    return (state.community && state.community.timezone) || undefined;
  }

  function formatClock(ms) {
    const parts = {};
    const format = new Intl.DateTimeFormat("zh-CN", {
      timeZone: timeZone(), year: "numeric", month: "2-digit", day: "2-digit",
      weekday: "short", hour: "2-digit", minute: "2-digit", hour12: false,
    });
    for (const part of format.formatToParts(new Date(ms))) parts[part.type] = part.value;
    return `${parts.year}-${parts.month}-${parts.day} ${parts.weekday} ${parts.hour}:${parts.minute}`;
  }

  function formatStamp(unixSeconds) {
    return new Intl.DateTimeFormat("zh-CN", {
      timeZone: timeZone(), month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", hour12: false,
    }).format(new Date(unixSeconds * 1000));
  }

  function safeUrl(url) {
    if (typeof url !== "string") return null;
    const candidate = /^[a-z][a-z0-9+.-]*:/i.test(url) ? url : "http://" + url;
    return /^(https?|tg):/i.test(candidate) ? candidate : null;
  }

  // t.me/<our bot>?start=<payload>: in the playground this "opens the bot" as you.
  function startPayload(url) {
    try {
      const parsed = new URL(url);
      const bot = state.bot ? state.bot.username.toLowerCase() : "";
      const host = parsed.hostname.toLowerCase();
      if ((host === "t.me" || host === "telegram.me") &&
          parsed.pathname.replace(/^\//, "").toLowerCase() === bot) {
        return parsed.searchParams.get("start") || "";
      }
    } catch (error) {
      return null;
    }
    return null;
  }

  async function post(path, body) {
    const options = { method: "POST" };
    if (body instanceof FormData) {
      options.body = body;
    } else {
      options.headers = { "Content-Type": "application/json" };
      options.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(path, options);
    } catch (error) {
      toast("⚠️ 连接失败 / offline");
      throw error;
    }
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      toast("⚠️ " + (data.error || response.status));
      throw new Error(data.error || String(response.status));
    }
    return data;
  }

  let toastTimer = null;
  function toast(text) {
    const box = $("#toast");
    box.textContent = text;
    box.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { box.hidden = true; }, 4000);
  }

  function showAlert(text) {
    $("#alert-text").textContent = text;
    $("#alert").hidden = false;
    $("#alert-ok").focus();
  }

  // ------------------------------------------------------------------ text + entities

  function wrap(node, entity, text, start, end) {
    let outer;
    switch (entity.type) {
      case "bold": outer = el("b"); break;
      case "italic": outer = el("i"); break;
      case "underline": outer = el("u"); break;
      case "strikethrough": outer = el("s"); break;
      case "code": outer = el("code"); break;
      case "pre": outer = el("pre"); break;
      case "spoiler": outer = el("span", "spoiler"); break;
      case "blockquote":
      case "expandable_blockquote": outer = el("blockquote"); break;
      case "text_link":
      case "url": {
        const href = safeUrl(entity.type === "url" ? text.slice(entity.offset, entity.offset + entity.length) : entity.url);
        if (!href) return node;
        outer = el("a");
        outer.href = href;
        outer.rel = "noopener noreferrer";
        outer.target = "_blank";
        break;
      }
      case "bot_command":
        outer = el("span", "command");
        outer.dataset.command = text.slice(entity.offset, entity.offset + entity.length);
        break;
      case "mention":
      case "text_mention":
      case "hashtag":
      case "cashtag":
      case "email":
        outer = el("span", "entity-" + entity.type.replace("_", "-"));
        break;
      default:
        return node;
    }
    outer.append(node);
    return outer;
  }

  function renderText(text, entities) {
    const fragment = document.createDocumentFragment();
    const list = (entities || []).filter((e) => e && e.length > 0);
    const cuts = new Set([0, text.length]);
    for (const e of list) {
      cuts.add(Math.min(Math.max(e.offset, 0), text.length));
      cuts.add(Math.min(Math.max(e.offset + e.length, 0), text.length));
    }
    const points = [...cuts].sort((a, b) => a - b);
    for (let i = 0; i < points.length - 1; i += 1) {
      const start = points[i];
      const end = points[i + 1];
      if (start >= end) continue;
      // Offsets are UTF-16 code units, exactly what JS strings index by.
      let node = document.createTextNode(text.slice(start, end));
      const active = list
        .filter((e) => e.offset <= start && e.offset + e.length >= end)
        .sort((a, b) => a.length - b.length || (BLOCKS.has(a.type) ? 1 : -1));
      for (const entity of active) node = wrap(node, entity, text, start, end);
      fragment.append(node);
    }
    return fragment;
  }

  function snippet(message) {
    if (!message) return "";
    const text = message.text || message.caption;
    if (text) return text.length > 60 ? text.slice(0, 59) + "…" : text;
    if (message.photo) return "🖼️ 照片";
    if (message.location) return "📍 位置";
    if (message.voice) return "🎤 语音";
    if (message.document) return "📄 文件";
    return "";
  }

  // ------------------------------------------------------------------ messages

  function messageElement(chat, message) {
    const fromBot = state.bot && message.from.id === state.bot.id;
    const mine = message.from.id === state.me;
    const item = el("li", "msg " + (fromBot ? "bot" : mine ? "mine" : "other"));
    item.dataset.messageId = String(message.message_id);
    item.dataset.from = String(message.from.id);
    const bubble = el("div", "bubble");
    item.append(bubble);
    if (!mine && (chat.kind !== "private" || fromBot)) {
      bubble.append(el("div", "sender", senderName(message.from)));
    }
    if (message.forward_origin && message.forward_origin.sender_user) {
      bubble.append(el("div", "forwarded", "↪ 转发自 " + senderName(message.forward_origin.sender_user)));
    }
    const quoted = message.reply_to_message;
    if (quoted) {
      const quote = el("div", "quote");
      quote.append(el("span", "quote-sender", senderName(quoted.from)), el("span", "quote-text", snippet(quoted)));
      quote.addEventListener("click", () => {
        const target = document.querySelector(
          `.chat[data-chat-id="${chat.id}"] .msg[data-message-id="${quoted.message_id}"]`);
        if (target) target.scrollIntoView({ behavior: "smooth", block: "center" });
      });
      bubble.append(quote);
    }
    if (message.photo && message.photo.length) {
      const img = el("img", "photo");
      img.src = "/api/file/" + encodeURIComponent(message.photo[message.photo.length - 1].file_id);
      img.alt = "照片 photo";
      img.loading = "lazy";
      bubble.append(img);
    }
    if (message.location) {
      const { latitude, longitude } = message.location;
      bubble.append(el("div", "attachment", `📍 ${latitude.toFixed(5)}, ${longitude.toFixed(5)}`));
    }
    if (message.voice) bubble.append(el("div", "attachment", "🎤 语音 voice"));
    if (message.document) bubble.append(el("div", "attachment", "📄 " + (message.document.file_name || "文件")));
    const text = message.text !== undefined ? message.text : message.caption;
    if (text) {
      const body = el("div", "text");
      body.append(renderText(text, message.entities || message.caption_entities));
      bubble.append(body);
    }
    const meta = el("div", "meta");
    if (message.edit_date) meta.append(el("span", "edited", "已编辑"));
    meta.append(el("time", "stamp", formatStamp(message.date)));
    const replyButton = el("button", "reply-btn", "↩");
    replyButton.type = "button";
    replyButton.title = "回复 / reply";
    replyButton.addEventListener("click", () => setReply(chat.id, message.message_id));
    meta.append(replyButton);
    bubble.append(meta);
    const rows = message.reply_markup && message.reply_markup.inline_keyboard;
    if (rows && rows.length) {
      const keyboard = el("div", "keyboard");
      for (const row of rows) {
        const line = el("div", "kb-row");
        for (const button of row) line.append(inlineButton(chat, message, button));
        keyboard.append(line);
      }
      item.append(keyboard);
    }
    return item;
  }

  function inlineButton(chat, message, button) {
    const node = el("button", "kb-button", button.text);
    node.type = "button";
    if (button.callback_data !== undefined) {
      node.addEventListener("click", () => press(chat.id, message.message_id, button.callback_data, node));
    } else if (button.url) {
      node.classList.add("kb-url");
      node.textContent = button.text + " ↗";
      node.addEventListener("click", () => openLink(button.url));
    } else {
      node.disabled = true;
    }
    return node;
  }

  function openLink(url) {
    const payload = startPayload(url);
    if (payload !== null) {
      sendText(state.me, payload ? "/start " + payload : "/start");
      showChat(state.me);
      return;
    }
    const href = safeUrl(url);
    if (href) window.open(href, "_blank", "noopener");
  }

  // ------------------------------------------------------------------ layout

  function visibleChats() {
    const me = person(state.me);
    return [...state.chats.values()].filter((chat) =>
      chat.kind === "residents" ||
      (chat.kind === "staff" && me && me.kind === "staff") ||
      (chat.kind === "private" && chat.id === state.me));
  }

  function inView(chatId) {
    const column = document.querySelector(`.chat[data-chat-id="${chatId}"]`);
    return Boolean(column) && (WIDE.matches || state.active === chatId) && !document.hidden;
  }

  function chatTitle(chat) {
    return chat.kind === "private" ? (state.bot ? state.bot.first_name : "") : chat.title;
  }

  function renderPeople() {
    const select = $("#who");
    select.textContent = "";
    for (const kind of ["resident", "staff"]) {
      const group = el("optgroup");
      group.label = kind === "resident" ? "居民 Residents" : "工作人员 Staff";
      for (const p of state.people.filter((q) => q.kind === kind)) {
        const unread = state.unread.get(p.user_id) || 0;
        const option = el("option", null, p.name + (p.role ? ` · ${p.role}` : "") + (unread ? ` (${unread})` : ""));
        option.value = String(p.user_id);
        group.append(option);
      }
      select.append(group);
    }
    select.value = String(state.me);
    for (const kind of ["resident", "staff"]) {
      const list = $(kind === "resident" ? "#residents" : "#staff");
      list.textContent = "";
      for (const p of state.people.filter((q) => q.kind === kind)) {
        const entry = el("li");
        const button = el("button", "person" + (p.user_id === state.me ? " current" : ""));
        button.type = "button";
        button.dataset.userId = String(p.user_id);
        button.append(el("span", "person-name", p.name));
        if (p.role) button.append(el("span", "person-role", p.role));
        const unread = state.unread.get(p.user_id) || 0;
        if (unread) button.append(el("span", "badge", String(unread)));
        button.addEventListener("click", () => become(p.user_id));
        entry.append(button);
        list.append(entry);
      }
    }
  }

  function renderTabs() {
    const tabs = $("#tabs");
    tabs.textContent = "";
    for (const chat of visibleChats()) {
      const tab = el("button", "tab" + (chat.id === state.active ? " active" : ""));
      tab.type = "button";
      tab.dataset.chatId = String(chat.id);
      tab.append(el("span", "tab-title", chat.kind === "private" ? "私聊 " + chatTitle(chat) : chat.title));
      const unread = state.unread.get(chat.id) || 0;
      if (unread && chat.id !== state.active) tab.append(el("span", "badge", String(unread)));
      tab.addEventListener("click", () => showChat(chat.id));
      tabs.append(tab);
    }
  }

  function renderChats() {
    const container = $("#chats");
    container.textContent = "";
    const chats = visibleChats();
    if (!chats.some((chat) => chat.id === state.active)) state.active = chats.length ? chats[0].id : null;
    for (const chat of chats) {
      const column = $("#chat-template").content.firstElementChild.cloneNode(true);
      column.dataset.chatId = String(chat.id);
      column.dataset.kind = chat.kind;
      column.classList.toggle("active", chat.id === state.active);
      $(".avatar", column).textContent = chat.kind === "private" ? "🤖" : chat.kind === "staff" ? "🛠️" : "🏘️";
      $(".chat-title", column).textContent = chatTitle(chat);
      $(".chat-sub", column).textContent = KIND_LABEL[chat.kind];
      const list = $(".messages", column);
      for (const message of chat.messages.values()) list.append(messageElement(chat, message));
      wireColumn(column, chat);
      container.append(column);
      updateBars(chat);
      list.scrollTop = list.scrollHeight;
      if (inView(chat.id)) state.unread.delete(chat.id);
    }
    const own = state.chats.get(state.me);
    if (own) {
      const last = [...own.messages.values()].pop();
      if (last && last.force_reply && !state.replyTo.has(own.id)) setReply(own.id, last.message_id);
    }
    renderTabs();
    renderPeople();
  }

  function updateBars(chat) {
    const column = document.querySelector(`.chat[data-chat-id="${chat.id}"]`);
    if (!column) return;
    const fresh = chat.kind === "private" && chat.messages.size === 0;
    const list = $(".messages", column);
    list.classList.toggle("empty", chat.messages.size === 0);
    list.dataset.hint = EMPTY_HINT[chat.kind];
    $(".start-bar", column).hidden = !fresh;
    $(".composer", column).hidden = fresh;
    const replyId = state.replyTo.get(chat.id);
    const bar = $(".reply-bar", column);
    const target = replyId !== undefined ? chat.messages.get(replyId) : undefined;
    bar.hidden = !target;
    if (target) $(".reply-preview", column).textContent = senderName(target.from) + "：" + snippet(target);
  }

  function wireColumn(column, chat) {
    const form = $(".composer", column);
    const input = $("input[name=text]", form);
    input.placeholder = "以「" + ((person(state.me) || {}).name || "") + "」身份发消息… / message";
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const text = input.value;
      if (!text.trim()) return;
      input.value = "";
      sendText(chat.id, text);
    });
    $(".reply-cancel", column).addEventListener("click", () => setReply(chat.id, null));
    $(".start", column).addEventListener("click", () => sendText(chat.id, "/start"));
    const menu = $(".attach-menu", column);
    $(".attach", column).addEventListener("click", () => { menu.hidden = !menu.hidden; });
    const fileInput = $("input[type=file]", menu);
    menu.addEventListener("click", (event) => {
      const choice = event.target.closest("[data-attach]");
      if (!choice) return;
      const kind = choice.dataset.attach;
      if (kind === "upload") { fileInput.click(); return; }
      menu.hidden = true;
      if (kind === "sample") sendPhoto(chat.id, null, input);
      if (kind === "location") sendLocation(chat.id);
    });
    fileInput.addEventListener("change", () => {
      menu.hidden = true;
      if (fileInput.files && fileInput.files[0]) sendPhoto(chat.id, fileInput.files[0], input);
      fileInput.value = "";
    });
    $(".messages", column).addEventListener("click", (event) => {
      const command = event.target.closest(".command");
      if (command) { sendText(chat.id, command.dataset.command); return; }
      const link = event.target.closest("a[href]");
      if (link && startPayload(link.href) !== null) {
        event.preventDefault();
        openLink(link.href);
      }
    });
  }

  function showChat(chatId) {
    state.active = chatId;
    for (const column of document.querySelectorAll(".chat")) {
      column.classList.toggle("active", Number(column.dataset.chatId) === chatId);
    }
    state.unread.delete(chatId);
    const list = document.querySelector(`.chat[data-chat-id="${chatId}"] .messages`);
    if (list) list.scrollTop = list.scrollHeight;
    renderTabs();
    renderPeople();
  }

  function become(userId) {
    if (!person(userId)) return;
    state.me = userId;
    state.replyTo.clear();
    try { localStorage.setItem("playground.me", String(userId)); } catch (error) { /* private mode */ }
    history.replaceState(null, "", "#as=" + userId);
    renderChats();
  }

  function setReply(chatId, messageId) {
    if (messageId === null) state.replyTo.delete(chatId);
    else state.replyTo.set(chatId, messageId);
    const chat = state.chats.get(chatId);
    if (chat) updateBars(chat);
    const input = document.querySelector(`.chat[data-chat-id="${chatId}"] input[name=text]`);
    if (input && messageId !== null) input.focus();
  }

  // ------------------------------------------------------------------ actions

  function acted(chatId) {
    state.lastActor.set(chatId, state.me);
  }

  async function sendText(chatId, text) {
    acted(chatId);
    const replyTo = state.replyTo.get(chatId);
    setReply(chatId, null);
    await post("/api/send", { user_id: state.me, chat_id: chatId, text, reply_to: replyTo ?? null });
  }

  async function sendLocation(chatId) {
    acted(chatId);
    await post("/api/send", { user_id: state.me, chat_id: chatId, location: true });
  }

  async function sendPhoto(chatId, file, captionInput) {
    acted(chatId);
    const form = new FormData();
    form.append("user_id", String(state.me));
    form.append("chat_id", String(chatId));
    if (captionInput.value.trim()) form.append("caption", captionInput.value);
    captionInput.value = "";
    const replyTo = state.replyTo.get(chatId);
    if (replyTo !== undefined) form.append("reply_to", String(replyTo));
    setReply(chatId, null);
    if (file) form.append("file", file, file.name);
    await post("/api/photo", form);
  }

  async function press(chatId, messageId, data, node) {
    acted(chatId);
    node.classList.add("pressed");
    try {
      await post("/api/press", { user_id: state.me, chat_id: chatId, message_id: messageId, data });
    } finally {
      setTimeout(() => node.classList.remove("pressed"), 300);
    }
  }

  async function fastForward(seconds, button) {
    for (const b of document.querySelectorAll("[data-advance]")) b.disabled = true;
    try {
      const clock = await post("/api/clock", { seconds });
      setClock(clock);
      toast("⏩ " + button.textContent + " → " + formatClock(Date.parse(clock.now)));
    } finally {
      for (const b of document.querySelectorAll("[data-advance]")) b.disabled = false;
    }
  }

  // ------------------------------------------------------------------ live state

  function setClock(clock) {
    state.clock = { serverMs: Date.parse(clock.now), localMs: performance.now() };
    tick();
  }

  function tick() {
    const now = state.clock.serverMs + (performance.now() - state.clock.localMs);
    const node = $("#clock-now");
    node.textContent = formatClock(now);
    node.dateTime = new Date(now).toISOString();
  }

  function applySnapshot(snapshot) {
    state.community = snapshot.community;
    state.bot = snapshot.bot;
    state.people = snapshot.people;
    state.chats = new Map(snapshot.chats.map((chat) => [chat.chat_id, {
      id: chat.chat_id, kind: chat.kind, title: chat.title, blocked: chat.blocked,
      messages: new Map(chat.messages.map((m) => [m.message_id, m])),
    }]));
    document.title = snapshot.community.name + " · 本地试用 Playground";
    $("#community-name").textContent = snapshot.community.name;
    setClock(snapshot.clock);
    if (!person(state.me)) {
      const wanted = Number((location.hash.match(/as=(\d+)/) || [])[1] || localStorage.getItem("playground.me"));
      state.me = person(wanted) ? wanted : snapshot.people[0].user_id;
    }
    renderChats();
  }

  function upsertMessage(chatId, message) {
    const chat = state.chats.get(chatId);
    if (!chat) return;
    const isNew = !chat.messages.has(message.message_id);
    chat.messages.set(message.message_id, message);
    const column = document.querySelector(`.chat[data-chat-id="${chatId}"]`);
    if (column) {
      const list = $(".messages", column);
      const nearBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 80;
      const fresh = messageElement(chat, message);
      const old = $(`.msg[data-message-id="${message.message_id}"]`, list);
      if (old) old.replaceWith(fresh);
      else list.append(fresh);
      if (isNew && (nearBottom || message.from.id === state.me)) list.scrollTop = list.scrollHeight;
      updateBars(chat);
      if (isNew && message.force_reply && (chat.kind === "private" || state.lastActor.get(chatId) === state.me)) {
        setReply(chatId, message.message_id); // as Telegram's clients open a force_reply
      }
    }
    if (isNew && message.from.id !== state.me && !inView(chatId)) {
      state.unread.set(chatId, (state.unread.get(chatId) || 0) + 1);
      renderTabs();
      renderPeople();
    }
  }

  function removeMessage(chatId, messageId) {
    const chat = state.chats.get(chatId);
    if (chat) chat.messages.delete(messageId);
    const node = document.querySelector(`.chat[data-chat-id="${chatId}"] .msg[data-message-id="${messageId}"]`);
    if (node) node.remove();
  }

  function connect() {
    const indicator = $("#connection");
    const events = new EventSource("/api/events");
    events.addEventListener("open", () => { indicator.classList.add("online"); });
    events.addEventListener("error", () => { indicator.classList.remove("online"); });
    events.addEventListener("snapshot", (e) => applySnapshot(JSON.parse(e.data)));
    events.addEventListener("message", (e) => {
      const data = JSON.parse(e.data);
      upsertMessage(data.chat_id, data.message);
    });
    events.addEventListener("deleted", (e) => {
      const data = JSON.parse(e.data);
      removeMessage(data.chat_id, data.message_id);
    });
    events.addEventListener("answer", (e) => {
      const data = JSON.parse(e.data);
      if (data.user_id !== state.me || !data.text) return;
      if (data.show_alert) showAlert(data.text);
      else toast(data.text);
    });
    events.addEventListener("clock", (e) => setClock(JSON.parse(e.data)));
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("#who").addEventListener("change", (event) => become(Number(event.target.value)));
    $("#alert-ok").addEventListener("click", () => { $("#alert").hidden = true; });
    for (const button of document.querySelectorAll("[data-advance]")) {
      button.addEventListener("click", () => fastForward(Number(button.dataset.advance), button));
    }
    WIDE.addEventListener("change", () => renderChats());
    document.addEventListener("visibilitychange", () => {
      if (!document.hidden && state.active !== null) showChat(state.active);
    });
    setInterval(tick, 1000);
    connect();
  });
})();
