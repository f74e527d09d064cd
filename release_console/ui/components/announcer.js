// The page's polite live region: says what changed from the live store (rc_live.js), never on every message: at
// most one announcement per ``gap`` ms, saying how things stand then, and nothing when they stand as last said.
// Focus never moves. A release page (``root``: the release's view) hears of its failed apps and the workflow's end;
// the release list (``page`` and ``views``: the rows shown) of releases shown whose failed apps went up.
import { channelMember, view, page as listPage, meta as channelMeta } from "rc_live";

const QUIET_STATUSES = new Set(["running", "continued_as_new"]); // the workflow goes on: nothing to say
const MAX_NAMED = 3; // releases named in one announcement of the list; the rest are counted

function plural(count, word) {
  return `${count} ${word}${count === 1 ? "" : "s"}`;
}

export default {
  mixins: [channelMember],
  props: { root: Object, meta: Object, page: Object, views: Object, gap: Number },
  data() {
    return { text: "", said: null, lastAt: 0, timer: null };
  },
  computed: {
    facts() {
      if (!this.root) return { releases: this.releases() };
      const v = view(this.ch, this.root.id, this.root);
      return { failed: v.p ? v.p[2] : 0, status: channelMeta(this.ch, this.meta).status || null };
    },
  },
  watch: {
    facts() {
      this.schedule();
    },
    ch() {
      this.said = this.facts; // another view of the list: what it shows now is not news
    },
  },
  created() {
    this.said = this.facts; // what the page showed when drawn: only changes are announced
  },
  unmounted() {
    clearTimeout(this.timer);
  },
  methods: {
    schedule() {
      if (this.timer !== null) return;
      const wait = Math.max(0, this.lastAt + this.gap - Date.now());
      this.timer = setTimeout(this.announce, wait);
    },
    releases() {
      // failed apps per release shown (the list's rows)
      const failed = {};
      for (const id of listPage(this.ch, this.page).ids) {
        const v = view(this.ch, id, this.views[id]);
        if (v && v.p) failed[id] = v.p[2];
      }
      return failed;
    },
    listNews(now, said) {
      const worse = Object.keys(now).filter((id) => id in said && now[id] > said[id]);
      const parts = worse.slice(0, MAX_NAMED).map((id) => `${id}: ${plural(now[id], "app")} failed`);
      if (worse.length > MAX_NAMED) parts.push(`and ${plural(worse.length - MAX_NAMED, "more release")} with new failures`);
      return parts;
    },
    announce() {
      this.timer = null;
      const now = this.facts;
      const parts = [];
      if (now.releases) parts.push(...this.listNews(now.releases, this.said.releases || {}));
      else if (now.failed !== this.said.failed) parts.push(now.failed ? `${plural(now.failed, "app")} failed` : "No failed apps now");
      if (now.status !== this.said.status && now.status && !QUIET_STATUSES.has(now.status)) {
        parts.push(`The release workflow is ${now.status.replaceAll("_", " ")}`);
      }
      this.said = now;
      if (!parts.length) return;
      this.text = parts.join(". ") + ".";
      this.lastAt = Date.now();
    },
  },
  template: `<div role="status" aria-live="polite" aria-atomic="true" class="rc-sr-only" data-testid="announcer">{{ text }}</div>`,
};
