/**
 * The arithmetic of the virtualized event list: which rows a scroll position shows and where
 * each row goes. Browsers cap an element's height (Firefox at about 17.9 million pixels), so a
 * list taller than `maxScrollHeight` is scaled: the scrollbar still spans every row, the
 * rows themselves keep their height, and the wheel moves by rows (see EventList).
 */
export interface ListGeometry {
  readonly total: number;
  readonly rowHeight: number;
  readonly viewportHeight: number;
  readonly maxScrollHeight: number;
}

/** Height of the scrolled content. */
export function scrollHeight(geometry: ListGeometry): number {
  return Math.min(geometry.total * geometry.rowHeight, geometry.maxScrollHeight);
}

function maxScrollTop(geometry: ListGeometry): number {
  return Math.max(0, scrollHeight(geometry) - geometry.viewportHeight);
}

/** The last row index that can be at the top of the viewport (fractional). */
function maxFirstRow(geometry: ListGeometry): number {
  return Math.max(0, geometry.total - geometry.viewportHeight / geometry.rowHeight);
}

/** True when the list is taller than the cap and scroll positions are scaled. */
export function scaled(geometry: ListGeometry): boolean {
  return geometry.total * geometry.rowHeight > geometry.maxScrollHeight;
}

/** The (fractional) row index at the top of the viewport for a scroll position. */
export function firstRowAt(scrollTop: number, geometry: ListGeometry): number {
  const range = maxScrollTop(geometry);
  if (range <= 0) return 0;
  const clamped = Math.min(Math.max(scrollTop, 0), range);
  return scaled(geometry) ? (clamped / range) * maxFirstRow(geometry) : clamped / geometry.rowHeight;
}

/** The scroll position that puts row `index` at the top (or as near as the end allows). */
export function scrollTopFor(index: number, geometry: ListGeometry): number {
  const rows = maxFirstRow(geometry);
  if (rows <= 0) return 0;
  const clamped = Math.min(Math.max(index, 0), rows);
  return scaled(geometry) ? (clamped / rows) * maxScrollTop(geometry) : clamped * geometry.rowHeight;
}

export interface VisibleRows {
  /** First and last row index to render (overscan included), last < total; first > last when empty. */
  readonly first: number;
  readonly last: number;
  /** Top of a row, in the scrolled content's pixels. */
  readonly top: (index: number) => number;
}

export function visibleRows(scrollTop: number, geometry: ListGeometry, overscan: number): VisibleRows {
  const firstFloat = firstRowAt(scrollTop, geometry);
  const clamped = Math.min(Math.max(scrollTop, 0), maxScrollTop(geometry));
  const shown = Math.ceil(geometry.viewportHeight / geometry.rowHeight) + 1;
  const first = Math.max(0, Math.floor(firstFloat) - overscan);
  const last = Math.min(geometry.total - 1, Math.floor(firstFloat) + shown + overscan);
  return { first, last, top: (index) => clamped + (index - firstFloat) * geometry.rowHeight };
}
