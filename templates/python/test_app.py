"""Run with `python3 -m unittest`: starts the server on a free port and calls it."""
import json
import threading
import unittest
import urllib.error
import urllib.request

import app


class AppTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = app.make_server(0)
        cls.url = "http://127.0.0.1:%d" % cls.server.server_address[1]
        threading.Thread(target=cls.server.serve_forever, daemon=True).start()

    @classmethod
    def tearDownClass(cls):
        cls.server.shutdown()
        cls.server.server_close()

    def test_get_greets_by_name(self):
        with urllib.request.urlopen(self.url + "/?name=Ada") as res:
            self.assertEqual(res.status, 200)
            self.assertIn(", Ada! ({{name}})", res.read().decode())

    def test_post_answers_json(self):
        req = urllib.request.Request(self.url + "/", data=b'{"a": 1}', method="POST")
        with urllib.request.urlopen(req) as res:
            self.assertEqual(json.loads(res.read())["received"], {"a": 1})

    def test_post_without_json_is_400(self):
        req = urllib.request.Request(self.url + "/", data=b"not json", method="POST")
        with self.assertRaises(urllib.error.HTTPError) as ctx:
            urllib.request.urlopen(req)
        self.assertEqual(ctx.exception.code, 400)


if __name__ == "__main__":
    unittest.main()
