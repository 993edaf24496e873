"""Progress: a bar on a terminal, a few log lines otherwise."""
import io

from mmengine.logging import MMLogger

from mmseg_sfda.utils.progress import Progress


class Tty(io.StringIO):
    def isatty(self):
        return True


def test_log_lines_when_not_a_terminal(capsys):
    # a logger of its own, made now: an earlier test's current logger writes to the
    # stdout of its time, not to this test's captured one
    MMLogger.get_instance('test_progress_not_a_terminal')
    progress = Progress(100, 'labelling', log_every=0.25, stream=io.StringIO())
    progress.update(60)
    progress.update(60)  # past the end: ignored
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if 'labelling:' in line]
    assert [line.split('labelling: ')[1].split(' ')[0] for line in lines] == \
        ['25/100', '50/100', '75/100', '100/100']
    assert progress.done == 100


def test_bar_on_a_terminal():
    stream = Tty()
    progress = Progress(4, 'x', stream=stream)
    progress.update(4)
    text = stream.getvalue()
    assert '4/4' in text and text.endswith('\n')


def test_disabled_prints_nothing(capsys):
    Progress(10, 'x', enabled=False).update(10)
    assert 'x:' not in capsys.readouterr().out
