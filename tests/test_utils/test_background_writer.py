import threading

import pytest

from mmseg_sfda.utils.background_writer import BackgroundWriter


def test_jobs_run_in_order_on_another_thread():
    done, threads = [], set()

    def job(i):
        threads.add(threading.get_ident())
        done.append(i)

    with BackgroundWriter(max_pending=2) as writer:
        for i in range(20):
            writer.submit(job, i)
            assert len(writer._pending) <= 2  # bounded queue
    assert done == list(range(20))
    assert threads and threading.get_ident() not in threads


def test_a_failed_job_stops_the_later_ones_and_raises_in_the_caller():
    done = []

    def job(i):
        if i == 3:
            raise KeyError('disk full')
        done.append(i)

    with pytest.raises(KeyError, match='disk full'):
        with BackgroundWriter(max_pending=4) as writer:
            for i in range(10):
                writer.submit(job, i)
    assert done == [0, 1, 2]  # what is on disk is a prefix of the jobs
