# TagCertificateAuthority, UntagCertificateAuthority, ListTags (PCA-API.md
# §5.19, §5.20): overwrite, aws: prefix, allowed characters, 50-tag limit applied
# all or nothing, untag by key or by key and value, pagination, states.
use strict;
use warnings;
use utf8;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Apache::Test qw(-withtestmore);
use ACMPCA::Test;

plan tests => 28, need_module('acmpca');

sub tag   { my($arn, @t) = @_; my(undef, undef, $res) = api(TagCertificateAuthority => { CertificateAuthorityArn => $arn // '', Tags => \@t }); $res }
sub untag { my($arn, @t) = @_; my(undef, undef, $res) = api(UntagCertificateAuthority => { CertificateAuthorityArn => $arn // '', Tags => \@t }); $res }
sub tags {
    my($arn, $max) = @_;
    my(%t, $token, $pages);
    for (1 .. 200) {
        my($st, $j) = api(ListTags => { CertificateAuthorityArn => $arn // '', ($max ? (MaxResults => $max) : ()),
                                        ($token ? (NextToken => $token) : ()) });
        return undef unless $st == 200;
        $pages++;
        for (@{ $j->{Tags} || [] }) { return { dup => $_->{Key} } if exists $t{ $_->{Key} }; $t{ $_->{Key} } = $_->{Value} // '' }
        $token = $j->{NextToken} or last;
    }
    wantarray ? (\%t, $pages) : \%t;
}

my $ca = create_ca(cn => uniq('Tags'));
is_deeply(scalar(tags($ca)), {}, 'a new CA has no tags');
is(tag($ca, { Key => 'env', Value => 'dev' }, { Key => 'owner', Value => 'pki-team' })->code, 200, 'TagCertificateAuthority');
is_deeply(scalar(tags($ca)), { env => 'dev', owner => 'pki-team' }, 'ListTags lists them');
is(tag($ca, { Key => 'env', Value => 'prod' })->code, 200, 'tagging an existing key');
is_deeply(scalar(tags($ca)), { env => 'prod', owner => 'pki-team' }, '... overwrites its value');
is(tag($ca, { Key => 'empty', Value => '' }, { Key => 'novalue' })->code, 200, 'an empty value and no value are accepted');
is(tag($ca, { Key => 'Größe größer', Value => 'ä:b/c=d+e-f@g_h.i' })->code, 200, 'letters, spaces and _.:/=+-@ are allowed');

is_aws_error(tag($ca, { Key => 'aws:created-by', Value => 'x' }), 400, 'InvalidTagException', undef, 'a key starting with aws: -> InvalidTagException');
is_aws_error_any(tag($ca, { Key => 'bad*key' }), 400, ['ValidationException', 'InvalidTagException'], undef, 'a key with * -> an invalid-tag error');
is_aws_error_any(tag($ca, { Key => 'k', Value => 'bad#value' }), 400, ['ValidationException', 'InvalidTagException'], undef, 'a value with # -> an invalid-tag error');
is_aws_error(tag($ca, { Key => 'k' x 129 }), 400, 'ValidationException', undef, 'a key of 129 -> ValidationException');
is_aws_error(tag($ca), 400, 'ValidationException', undef, 'an empty Tags list -> ValidationException');
my $t = tags($ca) || {};
is(scalar keys %$t, 5, 'refused calls changed nothing');

# The 50-tag limit: all or nothing.
my @fill = map { { Key => sprintf('fill%02d', $_), Value => 'x' } } 1 .. 45;
is(tag($ca, @fill)->code, 200, 'tagging up to exactly 50 tags');
is(scalar keys %{ tags($ca) || {} }, 50, '50 tags are listed');
is_aws_error(tag($ca, { Key => 'one-more', Value => 'x' }, { Key => 'env', Value => 'changed' }), 400, 'TooManyTagsException', undef,
    'a 51st tag -> TooManyTagsException');
$t = tags($ca) || {};
ok(keys(%$t) == 50 && !exists $t->{'one-more'} && $t->{env} eq 'prod', '... and nothing of that call was applied');
is(tag($ca, { Key => 'env', Value => 'staging' })->code, 200, 'overwriting a key at 50 tags is fine');

# ListTags pagination.
my($all, $pages) = tags($ca, 7);
is(scalar keys %{ $all || {} }, 50, 'ListTags with MaxResults 7 pages through all 50 tags, each once');
is($pages, 8, '... in 8 pages');

# Untag.
is(untag($ca, { Key => 'env', Value => 'not-the-value' })->code, 200, 'untag with a value that does not match');
is((tags($ca) || {})->{env}, 'staging', '... keeps the tag');
is(untag($ca, { Key => 'env', Value => 'staging' }, { Key => 'owner' }, { Key => 'no-such-key' })->code, 200,
    'untag by key and value, by key alone, and an absent key');
$t = tags($ca) || {};
ok(!exists $t->{env} && !exists $t->{owner} && keys(%$t) == 48, '... removes exactly the two tags');

# Each child keeps ListTags' answer per CA document (issue 7): a change is in the very
# next answers, in whichever child they land.
my @seen = map { scalar keys %{ tags($ca) || {} } } 1 .. 8;
tag($ca, { Key => 'late', Value => 'arrival' });
push @seen, map { my $x = tags($ca) || {}; ($x->{late} // '') eq 'arrival' ? scalar keys %$x : -1 } 1 .. 8;
is("@seen", join(' ', (48) x 8, (49) x 8), 'ListTags, eight times before a new tag and eight times after: each answer current');

# States: PENDING_CERTIFICATE is fine (above); DELETED is not.
api(DeleteCertificateAuthority => { CertificateAuthorityArn => $ca // '', PermanentDeletionTimeInDays => 7 });
is_aws_error(tag($ca, { Key => 'a', Value => 'b' }), 400, 'InvalidStateException', undef, 'Tag on DELETED -> InvalidStateException');
is_aws_error(untag($ca, { Key => 'fill01' }), 400, 'InvalidStateException', undef, 'Untag on DELETED -> InvalidStateException');
my(undef, undef, $res) = api(ListTags => { CertificateAuthorityArn => $ca // '' });
is_aws_error($res, 400, 'InvalidStateException', undef, 'ListTags on DELETED -> InvalidStateException');
