// The release tab's failure signals, from the release's view in the live store (rc_live.js), which the page receives
// anyway: "(N failed) " in front of the tab's title while N apps failed, and, while this user watches the release and
// allowed browser notifications, one notification per new failure (an app, or the release itself). Tabs of the same
// release share a notification tag, so the browser shows one notification, not one per tab.
import { channelMember, view } from "rc_live";

const TITLE_PREFIX = /^\(\d+ failed\) /;

export function titled(title, failed) {
  const base = title.replace(TITLE_PREFIX, "");
  return failed > 0 ? `(${failed} failed) ${base}` : base;
}

export default {
  mixins: [channelMember],
  props: { root: Object, watched: Boolean, failColor: String },
  computed: {
    v() {
      return view(this.ch, this.root.id, this.root);
    },
    failed() {
      const p = this.v.p || [0, 0, 0];
      return p[2] || 0;
    },
    releaseFailed() {
      return this.v.c === this.failColor;
    },
  },
  watch: {
    failed: {
      immediate: true,
      handler(now, before) {
        document.title = titled(document.title, now);
        if (before !== undefined && now > before) {
          const more = now - before;
          this.tell(`${now} failed · ${this.root.id}`, `${more} more app${more === 1 ? "" : "s"} failed in ${this.root.id}`);
        }
      },
    },
    releaseFailed(now, before) {
      if (now && !before) this.tell(`${this.root.id} ${this.v.s}`, `The release is ${this.v.s}: ${this.v.m || ""}`);
    },
  },
  unmounted() {
    document.title = titled(document.title, 0);
  },
  methods: {
    tell(title, body) {
      if (!this.watched || !("Notification" in window) || Notification.permission !== "granted") return;
      try {
        new Notification(title, { body, tag: `rc-failed|${this.root.id}` });
      } catch (e) {
        // browsers that show notifications only through a service worker (Chrome on Android)
      }
    },
  },
  template: `<span hidden data-testid="release-alerts"></span>`,
};
