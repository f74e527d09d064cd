// The page's side of the console's live channels: one store, one clock, one socket listener per page.
//
// The server computes what a change means once and sends the same encoded message ("rc" events) to every tab of a
// channel (a release, a view of the release list). Components read the newest data from this store, falling back to
// what their props carried when they were drawn; a view carries the state version it was computed at ("ver"), so the
// newer of the two always wins. The clock runs here too: "3 s ago" texts move without any message, only while the
// tab is visible, and catch up at once when it is shown again.
import { reactive } from "vue";

const COARSE_TICKS = 5; // the coarse clock ("for 3 min") moves every 5 seconds

export const live = reactive({
  now: Date.now(), // server time (ms), moved every second while the tab is visible
  coarse: Date.now(), // server time (ms), moved every COARSE_TICKS seconds
  channels: {},
});

let offset = 0; // server clock minus this browser's clock, in ms
let ticks = 0;
let started = false;
let connectedBefore = false;

function channel(name) {
  if (!live.channels[name]) live.channels[name] = { seq: -1, views: {}, details: {}, meta: {}, page: null, timeline: null };
  return live.channels[name];
}

function tick(force) {
  if (document.visibilityState !== "visible" && !force) return;
  const now = Date.now() + offset;
  live.now = now;
  if (force || ++ticks % COARSE_TICKS === 0) live.coarse = now;
}

function resume() {
  const seqs = {};
  for (const [name, c] of Object.entries(live.channels)) seqs[name] = c.seq;
  if (Object.keys(seqs).length) window.emitEvent("rc_resume", seqs);
}

function receive(message) {
  if (message.now) offset = message.now - Date.now();
  if (message.reload) {
    window.location.reload();
    return;
  }
  const c = channel(message.ch);
  if (message.seq !== undefined) {
    if (message.seq < c.seq && !message.reset) return; // older than what this tab has
    c.seq = message.seq;
  }
  if (message.reset) {
    c.views = {};
    c.details = {};
  }
  if (message.views) for (const [id, view] of Object.entries(message.views)) c.views[id] = view;
  if (message.details) for (const [id, detail] of Object.entries(message.details)) c.details[id] = detail;
  if (message.meta) c.meta = { ...c.meta, ...message.meta };
  if (message.page) c.page = message.page;
  if (message.timeline) c.timeline = message.timeline;
}

function start() {
  if (started) return;
  started = true;
  const attach = () => {
    if (!window.socket) return setTimeout(attach, 20);
    connectedBefore = window.socket.connected;
    window.socket.on("rc", receive);
    // Connected before this listener: what came meanwhile was dropped. Ask once the page's components joined.
    if (connectedBefore) setTimeout(resume, 0);
    window.socket.on("connect", () => {
      if (connectedBefore) resume(); // a reconnect: messages sent meanwhile were lost with the old socket
      connectedBefore = true;
    });
  };
  attach();
  setInterval(() => tick(false), 1000);
  document.addEventListener("visibilitychange", () => tick(true));
}

// A component joins the channel its props name, with the sequence number and server time they were drawn at.
export function join(name, seq, serverNow) {
  start();
  const c = channel(name);
  if (seq !== undefined && seq > c.seq) c.seq = seq;
  if (serverNow) {
    offset = serverNow - Date.now();
    tick(true);
  }
  return c;
}

// What every live component has: the channel it shows (``ch``) and the sequence number and server time its props
// were drawn at; it joins the channel when created. Components list it in ``mixins`` and add their own props.
export const channelMember = {
  props: { ch: String, seq: Number, now: Number },
  created() {
    join(this.ch, this.seq, this.now);
  },
};

// The newest view of ``id`` on a channel: the store's when it is at least as new as ``fallback`` (from props).
export function view(name, id, fallback) {
  const stored = live.channels[name]?.views[id];
  if (stored && (!fallback || (stored.ver ?? 0) >= (fallback.ver ?? 0))) return stored;
  return fallback;
}

// The newest page of a list view: the store's when it is at least as new as ``fallback`` (from props).
export function page(name, fallback) {
  const stored = live.channels[name]?.page;
  return stored && (stored.seq ?? 0) >= (fallback.seq ?? 0) ? stored : fallback;
}

export function meta(name, fallback) {
  const c = live.channels[name];
  return c ? { ...(fallback || {}), ...c.meta } : fallback || {};
}

// ---- texts, the same as the server's (ui/components/time_ago.py) --------------------------------------------------
export function parseTime(value) {
  if (!value) return null;
  const t = typeof value === "number" ? value : Date.parse(value);
  return Number.isNaN(t) ? null : t;
}

export function duration(seconds) {
  if (seconds < 60) return `${Math.floor(seconds)} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)} h`;
  return `${Math.floor(seconds / 86400)} d`;
}

// Seconds since ``value``; reads the fine clock only while the moment is recent (its text changes every second).
export function age(value) {
  const t = parseTime(value);
  if (t === null) return null;
  const coarse = Math.max(0, (live.coarse - t) / 1000);
  if (coarse >= 90) return coarse;
  return Math.max(0, (live.now - t) / 1000);
}

export function timeAgo(value) {
  const seconds = age(value);
  if (seconds === null) return "—";
  if (seconds < 2) return "just now";
  return `${duration(seconds)} ago`;
}

export function timeInState(value) {
  const text = timeAgo(value);
  if (text === "—") return "";
  return text === "just now" ? text : `for ${text.replace(/ ago$/, "")}`;
}

export function exactTime(value) {
  const t = parseTime(value);
  if (t === null) return "unknown";
  return new Date(t).toISOString().slice(0, 19).replace("T", " ") + " UTC";
}

export function percent(done, total) {
  return total ? Math.floor((100 * done) / total) : 0;
}
