import { describe, expect, it } from 'vitest';
import type { Condition } from '../core/types.js';
import { getCondition, isTrue, setCondition } from './conditions.js';

const OLD = '2026-01-01T00:00:00.000Z';
const NOW = '2026-01-01T00:05:00.000Z';

describe('setCondition', () => {
  const cases: { label: string; list: Condition[] | undefined; set: Condition; want: Condition[] }[] = [
    {
      label: 'adds to an empty list with now as transition time',
      list: undefined,
      set: { type: 'Ready', status: 'Unknown', reason: 'Deploying' },
      want: [{ type: 'Ready', status: 'Unknown', reason: 'Deploying', lastTransitionTime: NOW }],
    },
    {
      label: 'same status keeps lastTransitionTime but takes the new reason and message',
      list: [{ type: 'Ready', status: 'False', reason: 'A', message: 'a', lastTransitionTime: OLD }],
      set: { type: 'Ready', status: 'False', reason: 'B', message: 'b' },
      want: [{ type: 'Ready', status: 'False', reason: 'B', message: 'b', lastTransitionTime: OLD }],
    },
    {
      label: 'changed status moves lastTransitionTime to now',
      list: [{ type: 'Ready', status: 'Unknown', reason: 'Deploying', lastTransitionTime: OLD }],
      set: { type: 'Ready', status: 'True' },
      want: [{ type: 'Ready', status: 'True', lastTransitionTime: NOW }],
    },
    {
      label: 'same status without a stored time gets now',
      list: [{ type: 'Ready', status: 'True' }],
      set: { type: 'Ready', status: 'True' },
      want: [{ type: 'Ready', status: 'True', lastTransitionTime: NOW }],
    },
    {
      label: 'drops undefined reason and message (no keys with undefined)',
      list: [{ type: 'Ready', status: 'False', reason: 'X', message: 'x', lastTransitionTime: OLD }],
      set: { type: 'Ready', status: 'True', reason: undefined, message: undefined } as unknown as Condition,
      want: [{ type: 'Ready', status: 'True', lastTransitionTime: NOW }],
    },
    {
      label: 'keeps other types and sorts the list by type',
      list: [
        { type: 'Ready', status: 'True', lastTransitionTime: OLD },
        { type: 'Active', status: 'True', lastTransitionTime: OLD },
      ],
      set: { type: 'ContainerHealthy', status: 'True' },
      want: [
        { type: 'Active', status: 'True', lastTransitionTime: OLD },
        { type: 'ContainerHealthy', status: 'True', lastTransitionTime: NOW },
        { type: 'Ready', status: 'True', lastTransitionTime: OLD },
      ],
    },
    {
      label: 'replaces, never duplicates, a type',
      list: [
        { type: 'Ready', status: 'Unknown', lastTransitionTime: OLD },
        { type: 'Active', status: 'False', lastTransitionTime: OLD },
      ],
      set: { type: 'Active', status: 'True' },
      want: [
        { type: 'Active', status: 'True', lastTransitionTime: NOW },
        { type: 'Ready', status: 'Unknown', lastTransitionTime: OLD },
      ],
    },
  ];

  it.each(cases)('$label', ({ list, set, want }) => {
    const before = structuredClone(list);
    expect(setCondition(list, set, NOW)).toEqual(want);
    // The input list is not mutated: stored status objects stay intact.
    expect(list).toEqual(before);
  });
});

describe('getCondition / isTrue', () => {
  const list: Condition[] = [
    { type: 'Ready', status: 'True' },
    { type: 'Active', status: 'False' },
    { type: 'ContainerHealthy', status: 'Unknown' },
  ];
  const cases: { label: string; list: Condition[] | undefined; type: string; want: boolean }[] = [
    { label: 'True', list, type: 'Ready', want: true },
    { label: 'False', list, type: 'Active', want: false },
    { label: 'Unknown', list, type: 'ContainerHealthy', want: false },
    { label: 'missing type', list, type: 'RoutesReady', want: false },
    { label: 'no list', list: undefined, type: 'Ready', want: false },
  ];
  it.each(cases)('isTrue: $label', ({ list: l, type, want }) => {
    expect(isTrue(l, type)).toBe(want);
  });

  it('getCondition finds by type', () => {
    expect(getCondition(list, 'Active')).toEqual({ type: 'Active', status: 'False' });
    expect(getCondition(list, 'Nope')).toBeUndefined();
    expect(getCondition(undefined, 'Ready')).toBeUndefined();
  });
});
