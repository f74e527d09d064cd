// The release list's totals and one chip per state (click to filter), from the list view's shared page.
import { channelMember, page } from "rc_live";

export default {
  mixins: [channelMember],
  props: { page: Object, filter: String },
  emits: ["pick"],
  computed: {
    pg() {
      return page(this.ch, this.page);
    },
    total() {
      const p = this.pg;
      return p.matching !== p.total ? `${p.matching} of ${p.total} shown` : `${p.matching}`;
    },
  },
  template: `
    <div class="rc-summary">
      <span class="opacity-70" data-testid="release-total">{{ total }}</span>
      <span class="rc-chips rc-wrap">
        <button type="button" class="rc-chip rc-chip-plain" :class="{ 'rc-chip-on': !filter }"
                :aria-pressed="!filter ? 'true' : 'false'" @click="$emit('pick', { state: null })">all {{ pg.total }}</button>
        <button v-for="s in pg.summary" :key="s[0]" type="button" class="rc-chip" :class="['bg-' + s[2], { 'rc-chip-on': filter === s[0] }]"
                :aria-pressed="filter === s[0] ? 'true' : 'false'" :title="'show only ' + s[0]"
                @click="$emit('pick', { state: s[0] })">{{ s[1] }} {{ s[0] }}</button>
      </span>
    </div>`,
};
