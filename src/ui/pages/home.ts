/**
 * @module
 * `/`: the experiments (each links to its runs) and the registered models (paged).
 */
import { formatTime } from '../../report/format.js';
import { html } from '../../report/html.js';
import { table } from '../../report/widgets.js';
import type { Page } from '../context.js';
import { pager } from './shared.js';

/** The home page: experiments and models. */
export const homePage: Page = async ({ keel, query, pageSize, href }) => {
  const cursor = query.get('models') ?? undefined;
  const [experiments, models] = await Promise.all([
    keel.tracker.listExperiments(),
    keel.registry.listModels({ limit: pageSize, ...(cursor ? { cursor } : {}) }),
  ]);
  return {
    kind: 'html',
    title: 'Home',
    crumbs: [],
    body: html`<h1>keel</h1>
<h2 id="experiments">Experiments</h2>
${table({
  caption: `${experiments.length} experiments; each lists its runs.`,
  head: ['Experiment', 'Created'],
  rows: experiments.map((e) => [
    { header: html`<a href="${href(['experiments', e.name])}">${e.name}</a>` },
    formatTime(e.createdAt),
  ]),
  empty: 'No experiment yet: start a run with keel.tracker.startRun({ experiment }).',
})}
<h2 id="models">Models</h2>
${table({
  caption: 'Registered models; each lists its versions, aliases and alias history.',
  head: ['Model', 'Description', 'Created', 'By'],
  rows: models.models.map((m) => [
    { header: html`<a href="${href(['models', m.name])}">${m.name}</a>` },
    m.description ?? '',
    formatTime(m.createdAt),
    m.createdBy,
  ]),
  empty: 'No model registered yet.',
})}
${pager(cursor !== undefined, models.nextCursor, (c) => href([], { models: c }), 'models')}`,
  };
};
