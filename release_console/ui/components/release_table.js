// The release list's rows and pager, from the list view's shared page (which releases, in which order) and the
// rows' views in the live store: a change reaches every tab of the view in one message.
import { channelMember, page, view, timeAgo, percent } from "rc_live";

export default {
  mixins: [channelMember],
  props: { page: Object, views: Object },
  emits: ["page"],
  computed: {
    pg() {
      return page(this.ch, this.page);
    },
    rows() {
      return this.pg.ids.map((id) => view(this.ch, id, this.views[id])).filter((v) => v);
    },
  },
  methods: {
    timeAgo,
    pct(v) {
      return percent(v.p[0], v.p[1]);
    },
  },
  template: `
    <div class="rc-table">
      <div v-if="!rows.length" class="rc-empty-list">{{ pg.empty }}</div>
      <div v-else class="rc-table" role="list" aria-label="Releases">
        <div v-for="v in rows" :key="v.id" class="rc-list-row" role="listitem" :data-id="v.id">
          <span class="rc-list-name">
            <a class="rc-id rc-list-id" :href="v.href">{{ v.id }}</a>
            <span v-if="v.wt" class="rc-type-chip" :title="'workflow type ' + v.wt">{{ v.wt }}</span>
          </span>
          <span class="rc-list-state">
            <bdi class="rc-badge" :class="'bg-' + v.c" :title="v.m">{{ v.s }}</bdi>
            <span v-if="v.st" class="rc-status-chip" :class="{ 'rc-status-problem': v.sp }"
                  :title="'Temporal workflow status: ' + v.st">{{ v.st }}</span>
          </span>
          <span class="rc-line rc-list-progress">
            <span class="rc-bar" role="progressbar" aria-valuemin="0" aria-valuemax="100" :aria-valuenow="pct(v)"
                  :aria-label="v.p[0] + ' of ' + v.p[1] + ' apps done'" :title="v.p[0] + '/' + v.p[1] + ' apps done (' + pct(v) + '%)'">
              <span :class="v.p[2] ? 'bg-red-7' : 'bg-green-7'" :style="{ width: pct(v) + '%' }"></span>
            </span>
            <span class="rc-count">{{ v.p[0] }}/{{ v.p[1] }}</span>
          </span>
          <span class="rc-chips rc-list-chips"><span v-for="k in v.k" :key="k[0]" class="rc-chip" :class="'bg-' + k[2]">{{ k[1] }} <bdi>{{ k[0] }}</bdi></span></span>
          <span class="rc-list-time" :title="v.ut">{{ timeAgo(v.u) }}</span>
          <a v-if="v.tw" class="rc-list-temporal" :href="v.tw" target="_blank" rel="noopener"
             :title="'open ' + v.id + ' in Temporal\\'s UI'">Temporal</a>
        </div>
      </div>
      <nav v-if="pg.pages > 1" class="rc-pager" aria-label="Pages of releases">
        <q-pagination :model-value="pg.page" :max="pg.pages" direction-links boundary-numbers :max-pages="9"
                      @update:model-value="(n) => $emit('page', { page: n })" />
      </nav>
    </div>`,
};
