/**
 * The library grid's geometry: items grouped by day, each day's items in justified rows
 * (Flickr's justified-layout), every box at an absolute position, so the grid can render only
 * the boxes near the viewport (10,000 items, a few dozen DOM nodes).
 */
import justifiedLayout from 'justified-layout';

export interface GridItem {
  id: string;
  createdAt: string;
  width?: number;
  height?: number;
}

export interface Box<T> {
  item: T;
  top: number;
  left: number;
  width: number;
  height: number;
}

export interface DayHeader {
  day: string;
  label: string;
  top: number;
}

export interface Layout<T> {
  boxes: Box<T>[];
  headers: DayHeader[];
  height: number;
}

export const HEADER_HEIGHT = 44;
const SPACING = 4;

/**
 * The time zone days are counted in: the browser's own unless set (the tests set one with
 * daylight saving time, so "local day" is checked the same way on every machine).
 */
let dayFormat = new Intl.DateTimeFormat('en-CA', { year: 'numeric', month: '2-digit', day: '2-digit' });

export function setDisplayTimeZone(zone: string | undefined): void {
  dayFormat = new Intl.DateTimeFormat('en-CA', { year: 'numeric', month: '2-digit', day: '2-digit', ...(zone === undefined ? {} : { timeZone: zone }) });
}

/** The calendar day (YYYY-MM-DD) of an instant in the display time zone. */
const calendarDay = (instant: Date): string => dayFormat.format(instant);

/** The day an item belongs to: the day it was added (the order of the list), in local time. */
export function dayOf(item: GridItem): string {
  return calendarDay(new Date(item.createdAt));
}

/** Days are compared as calendar dates (UTC midnights), so a 23- or 25-hour day is still one day. */
const dayNumber = (day: string): number => {
  const [year, month, date] = day.split('-').map(Number) as [number, number, number];
  return Date.UTC(year, month - 1, date) / 86_400_000;
};

export function dayLabel(day: string, today = new Date()): string {
  const todayDay = calendarDay(today);
  const days = dayNumber(todayDay) - dayNumber(day);
  if (days === 0) return 'Today';
  if (days === 1) return 'Yesterday';
  const sameYear = day.slice(0, 4) === todayDay.slice(0, 4);
  return new Date(dayNumber(day) * 86_400_000).toLocaleDateString(undefined, { timeZone: 'UTC', weekday: 'short', day: 'numeric', month: 'long', ...(sameYear ? {} : { year: 'numeric' }) });
}

/** Width over height, 1 when unknown (pending items), kept within sane bounds. */
export function aspectOf(item: GridItem): number {
  if (!item.width || !item.height) return 1;
  return Math.min(4, Math.max(0.25, item.width / item.height));
}

export function layoutGrid<T extends GridItem>(items: T[], containerWidth: number, targetRowHeight: number, today = new Date()): Layout<T> {
  const boxes: Box<T>[] = [];
  const headers: DayHeader[] = [];
  let top = 0;
  let start = 0;
  while (start < items.length) {
    const day = dayOf(items[start] as T);
    let end = start + 1;
    while (end < items.length && dayOf(items[end] as T) === day) end += 1;
    const group = items.slice(start, end);
    headers.push({ day, label: dayLabel(day, today), top });
    top += HEADER_HEIGHT;
    const geometry = justifiedLayout(group.map(aspectOf), {
      containerWidth,
      containerPadding: 0,
      boxSpacing: SPACING,
      targetRowHeight,
      // A last row of a few items keeps its height instead of stretching across the screen.
      showWidows: true,
    });
    fitLastRow(geometry.boxes, containerWidth);
    geometry.boxes.forEach((box, index) => {
      boxes.push({ item: group[index] as T, top: top + box.top, left: box.left, width: box.width, height: box.height });
    });
    top += geometry.containerHeight + SPACING * 3;
    start = end;
  }
  return { boxes, headers, height: top };
}

/**
 * justified-layout gives a last row that does not fill the width (widows) the height of the row
 * above it, up to twice the target: on a narrow screen that row can come out wider than the
 * container (the page would scroll sideways). Such a row is scaled down to fit.
 */
function fitLastRow(boxes: { top: number; left: number; width: number; height: number }[], containerWidth: number): void {
  const last = boxes.at(-1);
  if (last === undefined || last.left + last.width <= containerWidth) return;
  const row = boxes.filter((box) => box.top === last.top);
  const start = (row[0] ?? last).left;
  const spacing = SPACING * (row.length - 1);
  const scale = (containerWidth - start - spacing) / (last.left + last.width - start - spacing);
  let left = start;
  for (const box of row) {
    box.left = left;
    box.width *= scale;
    box.height *= scale;
    left += box.width + SPACING;
  }
}

/**
 * The boxes that intersect [from, to] (plus `margin` above and below). Boxes are in top order, so
 * a binary search finds the first one: scrolling stays cheap with 10,000 items.
 */
export function visibleBoxes<T>(boxes: Box<T>[], from: number, to: number, margin: number): Box<T>[] {
  const low = from - margin;
  const high = to + margin;
  let left = 0;
  let right = boxes.length;
  while (left < right) {
    const middle = (left + right) >> 1;
    const box = boxes[middle] as Box<T>;
    if (box.top + box.height < low) left = middle + 1;
    else right = middle;
  }
  const visible: Box<T>[] = [];
  for (let index = left; index < boxes.length; index += 1) {
    const box = boxes[index] as Box<T>;
    if (box.top > high) break;
    if (box.top + box.height >= low) visible.push(box);
  }
  return visible;
}

export function visibleHeaders(headers: DayHeader[], from: number, to: number, margin: number): DayHeader[] {
  return headers.filter((header) => header.top + HEADER_HEIGHT >= from - margin && header.top <= to + margin);
}
