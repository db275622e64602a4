import { expect } from 'chai';
import { aspectOf, dayLabel, dayOf, HEADER_HEIGHT, layoutGrid, setDisplayTimeZone, visibleBoxes, visibleHeaders, type Box, type DayHeader, type GridItem, type Layout } from './layout';

/** A seeded pseudo-random generator (mulberry32): the same "random" library on every run. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** A library of `count` items, newest first, a few per day, with every kind of dimension. */
function library(count: number, seed: number): GridItem[] {
  const next = random(seed);
  let time = Date.parse('2024-06-30T18:00:00.000Z');
  const items: GridItem[] = [];
  for (let index = 0; index < count; index += 1) {
    time -= Math.floor(next() * 8 * 3_600_000);
    const kind = next();
    const item: GridItem = { id: `m${index}`, createdAt: new Date(time).toISOString() };
    if (kind < 0.15) {
      // pending: no dimensions yet
    } else if (kind < 0.2) {
      Object.assign(item, next() < 0.5 ? { width: 12_000, height: 300 } : { width: 300, height: 12_000 });
    } else {
      Object.assign(item, { width: 200 + Math.floor(next() * 4000), height: 200 + Math.floor(next() * 4000) });
    }
    items.push(item);
  }
  return items;
}

const bottom = (box: Box<unknown>): number => box.top + box.height;
/** Floating-point slack: justified-layout's widths are fractions of a pixel. */
const EPSILON = 1e-6;

/** What a viewport shows, the slow and obvious way. */
const intersecting = <T>(boxes: Box<T>[], low: number, high: number): Box<T>[] => boxes.filter((box) => bottom(box) >= low && box.top <= high);

function expectSoundGeometry(layout: Layout<GridItem>, items: GridItem[], containerWidth: number): void {
  const { boxes, headers } = layout;
  expect(boxes.map((box) => box.item)).to.deep.equal(items);
  for (const box of boxes) {
    expect(box.left, `left of ${box.item.id}`).to.be.at.least(0);
    expect(box.left + box.width, `right of ${box.item.id}`).to.be.at.most(containerWidth + EPSILON);
    expect(box.width).to.be.greaterThan(0);
    expect(box.height).to.be.greaterThan(0);
  }
  // In top order, and no two boxes overlap (boxes of later rows start below this one: only
  // boxes that start above its bottom can overlap it).
  for (let index = 0; index < boxes.length; index += 1) {
    const box = boxes[index] as Box<GridItem>;
    const next = boxes[index + 1];
    if (next !== undefined) {
      expect(next.top).to.be.at.least(box.top);
      expect(bottom(next)).to.be.at.least(bottom(box));
    }
    for (let other = index + 1; other < boxes.length && (boxes[other] as Box<GridItem>).top < bottom(box); other += 1) {
      const them = boxes[other] as Box<GridItem>;
      const apart = them.left + EPSILON >= box.left + box.width || box.left + EPSILON >= them.left + them.width || them.top + EPSILON >= bottom(box);
      expect(apart, `${box.item.id} overlaps ${them.item.id}`).to.equal(true);
    }
  }
  // One header per day, above that day's boxes, below the previous day's; nothing below the layout.
  let index = 0;
  headers.forEach((header, position) => {
    const previous = boxes[index - 1];
    if (previous !== undefined) expect(header.top).to.be.at.least(bottom(previous));
    const start = index;
    while (index < boxes.length && dayOf((boxes[index] as Box<GridItem>).item) === header.day) {
      expect((boxes[index] as Box<GridItem>).top).to.be.at.least(header.top + HEADER_HEIGHT);
      index += 1;
    }
    expect(index, `header ${position} (${header.day}) has boxes`).to.be.greaterThan(start);
  });
  expect(index).to.equal(boxes.length);
  expect(new Set(headers.map((header) => header.day)).size).to.equal(headers.length);
  expect(layout.height).to.be.at.least(Math.max(0, ...boxes.map(bottom)));
}

describe('web library layout', () => {
  before(() => {
    // A zone away from UTC, with daylight saving time: "local day" means something. Set in the
    // module, not through TZ, so the tests do not depend on how a test worker treats TZ.
    setDisplayTimeZone('America/New_York');
  });
  after(() => setDisplayTimeZone(undefined));

  describe('layoutGrid', () => {
    it('groups items by their local day, one header per day', () => {
      const items: GridItem[] = [
        { id: 'a', createdAt: '2024-03-11T04:30:00.000Z', width: 4000, height: 3000 }, // 00:30 on 11 March in New York
        { id: 'b', createdAt: '2024-03-11T03:30:00.000Z', width: 4000, height: 3000 }, // 23:30 on 10 March
        { id: 'c', createdAt: '2024-03-10T23:00:00.000Z', width: 3000, height: 4000 }, // 19:00 on 10 March
      ];
      const layout = layoutGrid(items, 1000, 200, new Date('2024-03-11T16:00:00.000Z'));
      expect(layout.headers.map(({ day, label }) => ({ day, label }))).to.deep.equal([
        { day: '2024-03-11', label: 'Today' },
        { day: '2024-03-10', label: 'Yesterday' },
      ]);
      const [today, yesterday] = layout.headers as [DayHeader, DayHeader];
      expect(today.top).to.equal(0);
      const [a, b, c] = layout.boxes as [Box<GridItem>, Box<GridItem>, Box<GridItem>];
      expect(a.top).to.equal(HEADER_HEIGHT);
      expect(yesterday.top).to.be.at.least(bottom(a));
      expect(b.top).to.equal(yesterday.top + HEADER_HEIGHT);
      expect(c.top).to.equal(b.top); // same day, same row
      expect(c.left).to.be.greaterThan(b.left + b.width);
      expectSoundGeometry(layout, items, 1000);
    });

    it('lays out nothing for an empty library', () => {
      expect(layoutGrid([], 1000, 200)).to.deep.equal({ boxes: [], headers: [], height: 0 });
    });

    it('gives an item of unknown dimensions a square box', () => {
      const layout = layoutGrid([{ id: 'pending', createdAt: '2024-03-11T15:00:00.000Z' }], 1000, 200);
      const [box] = layout.boxes as [Box<GridItem>];
      expect(box.width).to.equal(200);
      expect(box.height).to.equal(200);
    });

    it('clamps extreme aspect ratios to 4:1 and 1:4', () => {
      const createdAt = '2024-03-11T15:00:00.000Z';
      const layout = layoutGrid(
        [
          { id: 'panorama', createdAt, width: 20_000, height: 500 },
          { id: 'strip', createdAt, width: 100, height: 10_000 },
          { id: 'zero', createdAt, width: 0, height: 0 },
        ],
        2000,
        200,
      );
      const [panorama, strip, zero] = layout.boxes as [Box<GridItem>, Box<GridItem>, Box<GridItem>];
      expect([panorama.width, panorama.height]).to.deep.equal([800, 200]);
      expect([strip.width, strip.height]).to.deep.equal([50, 200]);
      expect([zero.width, zero.height]).to.deep.equal([200, 200]);
    });

    it('keeps a last row given the taller height of the row above within a narrow container', () => {
      // justified-layout lays out the 1.875:1 widow at the height of the full-width 1.793:1 row
      // above it (178.5 px): 335 px wide in a 320 px phone screen, unless scaled down.
      const createdAt = '2024-03-11T15:00:00.000Z';
      const items = [
        { id: 'full', createdAt, width: 1793, height: 1000 },
        { id: 'widow', createdAt, width: 1875, height: 1000 },
      ];
      const layout = layoutGrid(items, 320, 120);
      const [full, widow] = layout.boxes as [Box<GridItem>, Box<GridItem>];
      expect(full.width).to.be.closeTo(320, 0.01);
      expect(widow.top).to.be.greaterThan(bottom(full));
      expect(widow.left).to.equal(0);
      expect(widow.width).to.be.closeTo(320, 0.01);
      expect(widow.width / widow.height).to.be.closeTo(1.875, 0.001);
      expectSoundGeometry(layout, items, 320);
    });

    for (const [containerWidth, rowHeight] of [
      [320, 120],
      [375, 120],
      [599, 120],
      [600, 200],
      [1024, 200],
      [1917, 200],
    ] as const) {
      it(`never overlaps boxes or crosses a ${containerWidth} px container`, () => {
        const items = library(1500, containerWidth);
        expectSoundGeometry(layoutGrid(items, containerWidth, rowHeight), items, containerWidth);
      });
    }
  });

  describe('aspectOf', () => {
    it('is width over height, 1 when unknown, within 1:4 and 4:1', () => {
      expect(aspectOf({ id: 'a', createdAt: '', width: 3000, height: 2000 })).to.equal(1.5);
      expect(aspectOf({ id: 'a', createdAt: '' })).to.equal(1);
      expect(aspectOf({ id: 'a', createdAt: '', width: 3000 })).to.equal(1);
      expect(aspectOf({ id: 'a', createdAt: '', width: 3000, height: 0 })).to.equal(1);
      expect(aspectOf({ id: 'a', createdAt: '', width: 9000, height: 1000 })).to.equal(4);
      expect(aspectOf({ id: 'a', createdAt: '', width: 1000, height: 9000 })).to.equal(0.25);
    });
  });

  describe('visibleBoxes and visibleHeaders', () => {
    let layout: Layout<GridItem>;
    before(() => {
      layout = layoutGrid(library(10_000, 42), 1280, 200, new Date('2024-07-01T12:00:00.000Z'));
    });
    const next = random(7);
    const pick = <T>(list: T[]): T => list[Math.floor(next() * list.length)] as T;

    it('the test library spans many days and rows', () => {
      expect(layout.boxes).to.have.length(10_000);
      expect(layout.headers.length).to.be.greaterThan(500);
      expect(new Set(layout.boxes.map((box) => box.top)).size).to.be.greaterThan(1000);
    });

    it('answers exactly the boxes and headers a brute-force filter finds, for many windows', () => {
      const windows: [number, number, number][] = [
        [0, 0, 0],
        [-1000, -1, 0],
        [layout.height + 1, layout.height + 1000, 0],
        [0, layout.height, 0],
        [-1e9, 1e9, 0],
      ];
      for (let count = 0; count < 600; count += 1) {
        const from = -500 + next() * (layout.height + 1000);
        windows.push([from, from + next() * 3000, next() < 0.3 ? 0 : Math.floor(next() * 1200)]);
      }
      // Windows whose edges fall exactly on a box's or a header's edges.
      for (let count = 0; count < 300; count += 1) {
        const margin = next() < 0.5 ? 0 : 300;
        const first = pick(layout.boxes);
        const last = pick(layout.boxes);
        windows.push([bottom(first) + margin, Math.max(bottom(first), last.top) - margin, margin]);
        const header = pick(layout.headers);
        windows.push([header.top + HEADER_HEIGHT + margin, header.top + HEADER_HEIGHT + margin + next() * 800, margin]);
        windows.push([header.top - 800, header.top, 0]);
      }
      for (const [from, to, margin] of windows) {
        const low = from - margin;
        const high = to + margin;
        const label = `window [${from}, ${to}] margin ${margin}`;
        expect(visibleBoxes(layout.boxes, from, to, margin), label).to.deep.equal(intersecting(layout.boxes, low, high));
        const headers = layout.headers.filter((header) => header.top + HEADER_HEIGHT >= low && header.top <= high);
        expect(visibleHeaders(layout.headers, from, to, margin), label).to.deep.equal(headers);
      }
    });

    it('shows a few dozen boxes for a screenful, not thousands', () => {
      const shown = visibleBoxes(layout.boxes, 50_000, 50_900, 900);
      expect(shown.length).to.be.within(1, 120);
    });

    it('answers nothing for an empty layout', () => {
      expect(visibleBoxes([], 0, 1000, 100)).to.deep.equal([]);
      expect(visibleHeaders([], 0, 1000, 100)).to.deep.equal([]);
    });
  });

  describe('dayLabel and dayOf', () => {
    it('says Today and Yesterday, across a month, a year and a daylight saving change', () => {
      const at = (newYork: string): Date => new Date(newYork); // New York time, with its offset
      expect(dayLabel('2024-03-11', at('2024-03-11T23:59:00-04:00'))).to.equal('Today');
      expect(dayLabel('2024-03-10', at('2024-03-11T00:30:00-04:00'))).to.equal('Yesterday'); // a 23-hour day
      expect(dayLabel('2024-11-03', at('2024-11-04T00:10:00-05:00'))).to.equal('Yesterday'); // a 25-hour day
      expect(dayLabel('2024-02-29', at('2024-03-01T08:00:00-05:00'))).to.equal('Yesterday');
      expect(dayLabel('2023-12-31', at('2024-01-01T00:00:00-05:00'))).to.equal('Yesterday');
      expect(dayLabel('2024-03-09', at('2024-03-11T00:30:00-04:00'))).to.not.be.oneOf(['Today', 'Yesterday']);
    });

    it('names an older day by its date, with the year only when it is not this year', () => {
      const today = new Date('2024-07-01T12:00:00-04:00');
      const thisYear = dayLabel('2024-03-09', today);
      expect(thisYear).to.contain('9');
      expect(thisYear).to.not.contain('2024');
      expect(dayLabel('2023-03-09', today)).to.contain('2023');
    });

    it('is the local calendar day of createdAt', () => {
      expect(dayOf({ id: 'a', createdAt: '2024-03-11T03:30:00.000Z' })).to.equal('2024-03-10');
      expect(dayOf({ id: 'a', createdAt: '2024-03-11T04:30:00.000Z' })).to.equal('2024-03-11');
      expect(dayOf({ id: 'a', createdAt: '2024-01-01T04:59:59.000Z' })).to.equal('2023-12-31');
    });
  });
});
