// @vitest-environment happy-dom
// The generation panel's verdict: a continuation beside silence, the linear predictor, the last
// period looped and the spectral freeze, in words a user reads.
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, render, screen } from '@testing-library/react';
import { ContinuationVerdict, judge } from '../../src/renderer/features/generation/ContinuationVerdict';

const rate = 8000;
const tone = (n: number, from = 0, amp = 0.5) => Float32Array.from({ length: n }, (_, i) => amp * Math.sin((2 * Math.PI * 220 * (from + i)) / rate) + 0.3 * amp * Math.sin((2 * Math.PI * 660 * (from + i)) / rate));

afterEach(cleanup);

describe('continuation verdict', () => {
  it('a continuation that is the truth beats every trivial continuation by long-term spectrum', () => {
    const prime = tone(800);
    const truth = tone(8000, 800);
    const v = judge({ samples: truth, primeSamples: prime, truth, sampleRate: rate })!;
    expect(v.against).toBe('truth');
    expect(v.judged.model.lsdDb).toBe(0);
    expect(v.sentence).toBe('Its long-term spectrum is closer to the true continuation than every trivial continuation.');
  });

  it('a continuation that fades to nothing is shown losing, with the numbers', () => {
    const prime = tone(800);
    const truth = tone(8000, 800);
    const fading = Float32Array.from(truth, (x, i) => x * Math.exp(-i / 400));
    render(<ContinuationVerdict samples={fading} primeSamples={prime} truth={truth} sampleRate={rate} />);
    const text = screen.getByTestId('continuation-verdict').textContent!;
    expect(text).toMatch(/further from the true continuation than (silence, )?the linear predictor run free, the last period looped and the spectral freeze\./);
    expect(text).toMatch(/collapses or blows up/);
    expect(screen.getAllByRole('row').map((r) => r.querySelector('th')?.textContent)).toEqual(['continuation', 'the model', 'silence', 'linear predictor', 'last period looped', 'spectral freeze']);
  });
});
